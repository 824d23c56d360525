"""Backtest data readers: flat files and recordings as the typed frames the live client gets."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import msgspec
import pytest

from tradewire.backtest.data import (
    BacktestDataError,
    describe,
    iter_batches,
    write_quotes_flat_file,
)
from tradewire.errors import TradewireError
from tradewire.record.reader import segment_files
from tradewire.record.writer import RecordingWriter, WriterOptions
from tradewire.sim.sources import QUOTE_COLUMNS, TRADE_COLUMNS, flat_batches, merge_flat_files
from tradewire.venues.polygon.messages import FRAME_DECODER, MarketEvent, Quote, Status, Trade

pytestmark = pytest.mark.timeout(60)

FLAT = Path(__file__).parents[2] / "fixtures" / "polygon" / "flatfiles"
T0 = 1_735_830_000_000_000_000  # 2025-01-02 15:00:00 UTC, in ns
MS = 1_000_000

QUOTES = [
    # two-sided, single condition
    f"AAPL,12,243.90,2,11,243.85,3,1,,{T0 - 100},1001,{T0 + 100},3,",
    # bid side empty, decimal ask size, quoted condition list, indicators
    f'AAPL,12,243.91,100.0,0,0,0,"12,37",604,{T0 + 200},1002,{T0 + 1 * MS},3,',
    # ask side empty, fractional bid size, empty conditions
    f"MSFT,0,0,0,11,421.00,0.5,,,{T0 + 300},1003,{T0 + 2 * MS + 5},1,{T0 + 2 * MS}",
]
TRADES = [
    f'AAPL,"12,37",0,4,52983525029461,{T0},243.87,2001,{T0 + 150},100,3,,',
    f"MSFT,,0,11,62879131972434,{T0},421.05,2002,{T0 + 1 * MS + 7},0.5,3,202,{T0 + 1 * MS}",
    f"AAPL,,,4,7,,243.88,2003,{T0 + 2 * MS},100.0,3,,",
]


def flat_file(path: Path, columns: tuple[str, ...], rows: list[str]) -> Path:
    text = ",".join(columns) + "\n" + "".join(r + "\n" for r in rows)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def events(path: Path, **kw: object) -> list[MarketEvent]:
    return [e for _, batch in iter_batches(path, **kw) for e in batch]  # type: ignore[arg-type]


def wire_frames(paths: list[Path]) -> list[tuple[int, list[MarketEvent]]]:
    """What ``tradewire sim --replay`` sends for ``paths``, decoded as the live client does."""
    out = []
    for clock, batch in flat_batches(merge_flat_files(paths)):
        items = FRAME_DECODER.decode(msgspec.json.encode(batch))
        out.append((clock, [e for e in items if not isinstance(e, Status)]))
    return out


# -- flat files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["q.csv", "q.csv.gz"])
def test_quotes_flat_file_parses_one_sided_decimal_sizes_and_condition_lists(tmp_path, name):
    path = flat_file(tmp_path / name, QUOTE_COLUMNS, QUOTES)

    got = events(path)

    assert got == [
        Quote("AAPL", 243.85, 243.90, 3, 2, 11, 12, 1, None, T0 // MS, 1001, 3),
        Quote("AAPL", 0.0, 243.91, 0, 100, 0, 12, 12, [604], T0 // MS + 1, 1002, 3),
        Quote("MSFT", 421.00, 0.0, 0.5, 0, 11, 0, None, None, T0 // MS + 2, 1003, 1),
    ]
    assert [q.price for q in got] == [(243.85 + 243.90) / 2, 243.91, 421.00]
    assert all(type(q.bid_size) is float for q in got)


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz"])
def test_trades_flat_file_parses_condition_lists_decimal_sizes_and_empty_fields(tmp_path, name):
    path = flat_file(tmp_path / name, TRADE_COLUMNS, TRADES)

    got = events(path)

    assert got == [
        Trade("AAPL", 243.87, 100, 4, "52983525029461", [12, 37], T0 // MS, 2001, 3),
        Trade(
            "MSFT",
            421.05,
            0.5,
            11,
            "62879131972434",
            None,
            T0 // MS + 1,
            2002,
            3,
            202,
            T0 // MS + 1,
        ),
        Trade("AAPL", 243.88, 100, 4, "7", None, T0 // MS + 2, 2003, 3),
    ]


def test_flat_files_give_the_frames_the_simulator_sends_over_the_wire(tmp_path):
    quotes = write_quotes_flat_file(tmp_path / "q.csv.gz", ["AAPL", "MSFT", "SPY"], 3000, seed=3)
    trades = flat_file(tmp_path / "t.csv", TRADE_COLUMNS, TRADES)

    for paths, source in (
        ([quotes], quotes),
        ([quotes, trades], tmp_path),
        (list(FLAT.glob("*.csv")), FLAT),
    ):
        assert list(iter_batches(source)) == wire_frames(sorted(paths))


def test_rows_sharing_a_millisecond_are_one_frame_of_at_most_500(tmp_path):
    rows = [f"AAPL,12,2.0,1,11,1.0,1,1,,0,{i},{T0 + i * 100},3," for i in range(1203)]
    rows.append(f"AAPL,12,2.0,1,11,1.0,1,1,,0,9999,{T0 + MS},3,")
    path = flat_file(tmp_path / "q.csv", QUOTE_COLUMNS, rows)

    batches = list(iter_batches(path))

    assert [len(b) for _, b in batches] == [500, 500, 203, 1]
    assert [c for c, _ in batches] == [T0, T0 + 500 * 100, T0 + 1000 * 100, T0 + MS]
    assert all(e.timestamp == T0 // MS for _, b in batches[:3] for e in b)


def test_symbol_filter_keeps_the_wire_framing_of_a_subscribed_client(tmp_path):
    # 499 AAPL rows then MSFT in the same ms: the wire splits at 500 rows, whatever is selected.
    rows = [f"AAPL,12,2.0,1,11,1.0,1,1,,0,{i},{T0 + i},3," for i in range(499)]
    rows += [f"MSFT,12,2.0,1,11,1.0,1,1,,0,{500 + i},{T0 + 500 + i},3," for i in range(3)]
    path = flat_file(tmp_path / "q.csv", QUOTE_COLUMNS, rows)

    batches = list(iter_batches(path, symbols=frozenset({"MSFT"})))

    assert [(c, [e.sequence for e in b]) for c, b in batches] == [
        (T0, [500]),
        (T0 + 501, [501, 502]),
    ]


def test_time_window_selects_frames_by_clock_start_inclusive_end_exclusive(tmp_path):
    path = flat_file(tmp_path / "q.csv", QUOTE_COLUMNS, QUOTES)

    batches = list(iter_batches(path, start_ns=T0 + 1 * MS, end_ns=T0 + 2 * MS + 5))

    assert [c for c, _ in batches] == [T0 + 1 * MS]


def test_a_folder_of_trades_and_quotes_is_merged_in_time_order(tmp_path):
    flat_file(tmp_path / "q.csv.gz", QUOTE_COLUMNS, QUOTES)
    flat_file(tmp_path / "t.csv", TRADE_COLUMNS, TRADES)
    (tmp_path / "README.md").write_text("ignored")

    batches = list(iter_batches(tmp_path))

    clocks = [c for c, _ in batches]
    assert clocks == sorted(clocks)
    assert [[e.channel for e in b] for _, b in batches] == [["Q", "T"], ["Q", "T"], ["T", "Q"]]
    assert describe(tmp_path).events == {"Q": 3, "T": 3}


def test_write_quotes_flat_file_is_deterministic_and_exercises_every_branch(tmp_path):
    a = write_quotes_flat_file(tmp_path / "a.csv", ["AAPL", "MSFT"], 2000, seed=5)
    b = write_quotes_flat_file(tmp_path / "b.csv", ["AAPL", "MSFT"], 2000, seed=5)

    got = events(a)

    assert a.read_bytes() == b.read_bytes()
    assert len(got) == 2000
    assert any(q.bid_price == 0 for q in got)
    assert any(q.ask_price == 0 for q in got)
    assert any(q.ask_size == 0.5 for q in got)
    summary = describe(a)
    assert summary.symbols == {"AAPL", "MSFT"}
    assert summary.events == {"Q": 2000}
    assert summary.first_ns is not None
    assert summary.last_ns is not None
    assert summary.first_ns < summary.last_ns


# -- recordings ---------------------------------------------------------------------------------

FRAMES = [
    b'[{"ev":"status","status":"connected","message":"Connected Successfully"}]',
    b'[{"ev":"Q","sym":"AAPL","bp":1.0,"ap":1.1,"bs":2,"as":3,"t":1,"q":1},'
    b'{"ev":"T","sym":"MSFT","p":2.5,"s":100,"c":[12,37],"i":"9","t":1,"q":2}]',
    b'[{"ev":"A","sym":"AAPL","v":10,"o":1,"c":1.1,"h":1.2,"l":0.9,"s":0,"e":1000},'
    b'{"ev":"XQ","sym":"AAPL"}]',
    b'[{"ev":"AM","sym":"MSFT","v":10,"o":2,"c":2.1,"h":2.2,"l":1.9,"s":0,"e":60000}]',
]


def record(directory: Path, frames: list[bytes] = FRAMES) -> Path:
    with RecordingWriter(
        directory,
        feed_url="wss://x",
        symbols=["AAPL", "MSFT"],
        options=WriterOptions(flush_frames=1),
    ) as writer:
        for i, frame in enumerate(frames):
            writer.append(T0 + i * MS, frame)
    return directory


def test_recording_round_trip_gives_the_recorded_frames_market_events(tmp_path):
    rec = record(tmp_path / "rec")

    batches = list(iter_batches(rec))

    expected = [
        (T0 + i * MS, [e for e in FRAME_DECODER.decode(f) if not isinstance(e, Status)])
        for i, f in enumerate(FRAMES)
        if i not in (0, 2)
    ]
    assert batches[0] == expected[0]
    assert [c for c, _ in batches] == [T0 + MS, T0 + 2 * MS, T0 + 3 * MS]
    assert [e.channel for e in batches[1][1]] == ["A"]  # the unknown "XQ" costs only itself
    assert batches[2] == expected[1]
    assert list(iter_batches(segment_files(rec)[0])) == batches
    only_msft = list(iter_batches(rec, symbols=frozenset({"MSFT"})))
    assert [[e.channel for e in b] for _, b in only_msft] == [["T"], ["AM"]]


def test_a_torn_recording_reads_up_to_the_tear(tmp_path):
    rec = record(tmp_path / "rec")
    segment = segment_files(rec)[0]
    segment.write_bytes(segment.read_bytes()[:-5])

    batches = list(iter_batches(rec))

    assert [c for c, _ in batches] == [T0 + MS, T0 + 2 * MS]


def test_a_folder_of_recordings_and_flat_files_is_merged_in_time_order(tmp_path):
    record(tmp_path / "rec")
    flat_file(tmp_path / "t.csv", TRADE_COLUMNS, TRADES)

    clocks = [c for c, _ in iter_batches(tmp_path)]

    assert clocks == sorted(clocks)
    assert len(clocks) == 6


# -- errors -------------------------------------------------------------------------------------


def bad_row_file(tmp_path: Path) -> Path:
    return flat_file(
        tmp_path / "q.csv", QUOTE_COLUMNS, [QUOTES[0], "AAPL,12,abc,1,11,1,1,,,0,1,5,3,"]
    )


def unordered_file(tmp_path: Path) -> Path:
    return flat_file(tmp_path / "q.csv", QUOTE_COLUMNS, [QUOTES[1], QUOTES[0]])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.csv.gz", "no such file or folder"),
        (lambda p: (p / "x.parquet").write_bytes(b"PAR1") and p / "x.parquet", "unknown file type"),
        (
            lambda p: flat_file(p / "a.csv", ("ticker", "open", "close"), []),
            "not a stocks trades or quotes",
        ),
        (bad_row_file, "q.csv:3: bad row"),
        (unordered_file, "q.csv:3: rows are not in sip_timestamp order"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "no flat files"),
        (lambda p: flat_file(p / "q.csv", QUOTE_COLUMNS, []), "no events selected"),
        (lambda p: (p / "q.csv.gz").write_bytes(b"not gzip") and p / "q.csv.gz", "q.csv.gz"),
    ],
    ids=[
        "missing",
        "unknown-type",
        "wrong-columns",
        "bad-row",
        "unordered",
        "empty-folder",
        "empty-file",
        "not-gzip",
    ],
)
def test_unreadable_input_is_one_clear_error(tmp_path, make, message):
    path = make(tmp_path)

    with pytest.raises(BacktestDataError, match=message.replace(".", r"\.")) as info:
        list(iter_batches(path))

    assert isinstance(info.value, TradewireError)


def test_a_selection_matching_nothing_is_an_error(tmp_path):
    path = flat_file(tmp_path / "q.csv", QUOTE_COLUMNS, QUOTES)

    with pytest.raises(BacktestDataError, match="no events selected"):
        list(iter_batches(path, symbols=frozenset({"NOPE"})))
    with pytest.raises(BacktestDataError, match="no events selected"):
        list(iter_batches(path, start_ns=T0 + 10 * MS))


def test_quotes_in_another_column_order_or_with_empty_numbers_read_the_same(tmp_path):
    # Neither fits the msgspec block parser; the csv fallback must give the same events.
    order = list(reversed(QUOTE_COLUMNS))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(r[::-1] for r in csv.reader(QUOTES))
    reordered = flat_file(tmp_path / "r.csv", tuple(order), out.getvalue().splitlines())
    empty_tape = flat_file(tmp_path / "e.csv", QUOTE_COLUMNS, [QUOTES[0].replace(",3,", ",,")])

    assert events(reordered) == events(flat_file(tmp_path / "q.csv", QUOTE_COLUMNS, QUOTES))
    assert events(empty_tape)[0].tape == 0
