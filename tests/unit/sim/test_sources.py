from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tradewire.sim.sources import (
    BarBuilder,
    FlatFileError,
    SyntheticMarket,
    merge_flat_files,
    read_flat_file,
    replay,
    run_synthetic,
    symbols_for,
)

FLAT = Path(__file__).parents[2] / "fixtures" / "polygon" / "flatfiles"


def test_symbols_for_with_list_and_count():
    assert symbols_for("aapl, msft") == ["AAPL", "MSFT"]
    syms = symbols_for(25)
    assert len(syms) == 25
    assert len(set(syms)) == 25
    assert syms[0] == "AAPL"


def test_synthetic_market_with_same_seed_is_deterministic():
    a = SyntheticMarket(["A", "B"], seed=1, start_ms=0).batch(500)
    b = SyntheticMarket(["A", "B"], seed=1, start_ms=0).batch(500)
    c = SyntheticMarket(["A", "B"], seed=2, start_ms=0).batch(500)
    assert a == b
    assert a != c


def test_synthetic_quotes_are_realistic_nbbo():
    events = SyntheticMarket(["A", "B", "C"], seed=3, start_ms=0).batch(5_000)
    quotes = [e for e in events if e["ev"] == "Q"]
    trades = [e for e in events if e["ev"] == "T"]
    assert quotes
    assert trades
    for q in quotes:
        assert 0 < q["bp"] < q["ap"]
        assert round(q["ap"] - q["bp"], 2) >= 0.01
        assert q["bp"] == round(q["bp"], 2)
        assert q["bs"] >= 1
        assert q["as"] >= 1
    seqs: dict[str, int] = {}
    for e in events:
        assert e["q"] > seqs.get(e["sym"], 0)  # increasing per ticker
        seqs[e["sym"]] = e["q"]
    assert all(isinstance(t["i"], str) for t in trades)


def test_bar_builder_emits_second_and_minute_bars_when_window_passes():
    builder = BarBuilder()
    trades = [
        {"ev": "T", "sym": "A", "p": 10.0, "s": 100, "t": 60_000},
        {"ev": "T", "sym": "A", "p": 11.0, "s": 100, "t": 60_500},
        {"ev": "T", "sym": "A", "p": 9.0, "s": 200, "t": 60_900},
    ]
    assert [b for t in trades for b in builder.add(t)] == []
    bars = builder.add({"ev": "T", "sym": "A", "p": 10.0, "s": 1, "t": 121_000})
    second = next(b for b in bars if b["ev"] == "A")
    minute = next(b for b in bars if b["ev"] == "AM")
    assert (second["o"], second["h"], second["l"], second["c"]) == (10.0, 11.0, 9.0, 9.0)
    assert second["v"] == 400
    assert (second["s"], second["e"]) == (60_000, 61_000)
    assert (minute["s"], minute["e"]) == (60_000, 120_000)
    assert second["vw"] == pytest.approx((1000 + 1100 + 1800) / 400)


def test_read_flat_file_quotes_converts_ns_to_ms_and_keeps_empty_side():
    events = list(read_flat_file(FLAT / "2025-01-02-quotes.csv"))
    ns, first = events[0]
    assert ns == 1735830000000200000
    assert first == {
        "ev": "Q",
        "sym": "AAPL",
        "bx": 11,
        "bp": 243.85,
        "bs": 3,
        "ax": 12,
        "ap": 243.90,
        "as": 2,
        "t": 1735830000000,
        "q": 1001,
        "z": 3,
        "c": 1,
    }
    one_sided = events[3][1]
    assert (one_sided["ap"], one_sided["as"]) == (0.0, 0)


def test_read_flat_file_trades_parses_conditions_trf_and_decimal_size():
    events = [e for _, e in read_flat_file(FLAT / "2025-01-02-trades.csv")]
    assert events[0]["c"] == [12, 37]
    assert events[0]["i"] == "52983525029461"
    assert "trfi" not in events[0]
    assert events[1]["s"] == 0.5
    assert (events[1]["trfi"], events[1]["trft"]) == (202, 1735830000001)


def test_merge_flat_files_orders_by_sip_timestamp():
    merged = [ns for ns, _ in merge_flat_files(sorted(FLAT.glob("*.csv")))]
    assert merged == sorted(merged)
    assert len(merged) == 6


def test_read_flat_file_with_wrong_columns_raises(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(FlatFileError, match="not a trades or quotes"):
        list(read_flat_file(bad))


def test_read_flat_file_reads_gzip(tmp_path):
    import gzip

    gz = tmp_path / "q.csv.gz"
    gz.write_bytes(gzip.compress((FLAT / "2025-01-02-quotes.csv").read_bytes()))
    assert len(list(read_flat_file(gz))) == 4


async def test_replay_as_fast_as_possible_batches_by_millisecond():
    frames: list[list[dict]] = []
    sent = await replay(
        lambda evs: frames.append(list(evs)) or 1,
        merge_flat_files(sorted(FLAT.glob("*.csv"))),
        speed=0,
    )
    assert sent == 6
    assert [len(f) for f in frames] == [3, 2, 1]  # ms ...000, ...001, ...002


async def test_run_synthetic_publishes_about_the_requested_count():
    published: list[int] = []
    market = SyntheticMarket(["A"], seed=1, start_ms=0)
    sent = await run_synthetic(
        lambda evs: published.append(len(evs)) or 1, market, rate=5_000, duration_s=0.2, bars=False
    )
    assert sent == sum(published)
    assert 0 < sent <= 5_000 * 0.2 + 1
    await asyncio.sleep(0)
