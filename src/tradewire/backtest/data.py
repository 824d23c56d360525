"""Market data for ``tradewire backtest``: the typed events the live client would deliver.

A backtest must see what ``tradewire sim --replay`` + ``tradewire run`` would see, frame for
frame: the same :mod:`~tradewire.venues.polygon.messages` Structs, in the same frames, with
the same millisecond timestamps. So a recording is read frame by frame (clock = receive
time) and a flat file is batched exactly as :func:`~tradewire.sim.sources.flat_batches`
batches it for the wire (clock = the first row's SIP nanoseconds). The flat-file reader is
the hot loop of a backtest: msgspec converts a whole block of rows in C, Structs are built
positionally, and ``csv`` is only the fallback that handles (and names) the odd row.
"""

from __future__ import annotations

import csv
import gzip
import heapq
import io
import itertools
import random
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path

import msgspec

from tradewire.backtest import crypto_data
from tradewire.backtest.recorded import OptionsOf, read_recorded_market
from tradewire.backtest.sanity import Skips
from tradewire.errors import TradewireError
from tradewire.record.manifest import MANIFEST_NAME, SEGMENT_SUFFIX
from tradewire.record.reader import OPTIONS_MARKET, market_part, segment_files
from tradewire.sim.sources import QUOTE_COLUMNS, REPLAY_BATCH_MAX, TRADE_COLUMNS
from tradewire.venues.polygon.crypto import CryptoEvent
from tradewire.venues.polygon.messages import (
    MarketEvent,
    Quote,
    Trade,
)
from tradewire.venues.polygon.protocol import MARKETS

Batch = tuple[int, list[MarketEvent | CryptoEvent]]
_first = itemgetter(0)
# (sip ns, event) of one flat-file row; the event is None when its symbol is not selected,
# because the row still counts towards its frame's 500-event cap on the wire.
_Row = tuple[int, MarketEvent | CryptoEvent | None]
_RowParser = Callable[[list[str]], _Row]

FLAT_SUFFIXES = (".csv", ".csv.gz")
_QUOTED = re.compile(r'"([^"]*)"')
_QUOTE_ROWS = msgspec.json.Decoder(
    list[tuple[str, int, float, float, int, float, float, str, str, str, int, int, int, str]],
    strict=False,
)


class BacktestDataError(TradewireError):
    """The backtest's input cannot be read; the message names the file (and line)."""


def iter_batches(
    path: Path,
    *,
    symbols: frozenset[str] | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
    skips: Skips | None = None,
) -> Iterator[Batch]:
    """``(clock_ns, events of one frame)`` in non-decreasing clock order.

    ``path`` is a recording (folder or ``.twr``), a trades/quotes flat file, or a folder of
    several, merged in time. Frames whose clock is outside ``[start_ns, end_ns)`` are
    skipped whole and events of other ``symbols`` are dropped from their frames, as a client
    subscribed to those symbols only would receive them; empty frames are not yielded.
    Events no strategy may see (NaN, negative or crossed prices: :mod:`.sanity`) are
    dropped as if their rows were not in the file, and counted in ``skips``.

    Raises:
        BacktestDataError: missing path, unknown file type, wrong columns, bad row, rows
            out of time order, or nothing selected.
    """
    path = Path(path)
    skips = Skips() if skips is None else skips
    flat, recordings = _sources(path)
    streams: list[Iterator[Batch]] = [_read_recording(p, symbols, skips) for p in recordings]
    # The crypto part of each source, on its own clock as its own connection (issue 23).
    streams += crypto_data.crypto_streams(flat, recordings, symbols, skips, _batch_rows)
    # The options part likewise (issue 24): its events are the stock types, keyed SPY2607…,
    # every recorded contract of a selected underlying (a strategy subscribes from its chain).
    contracts = OptionsOf(symbols) if symbols is not None else None
    streams += [
        read_recorded_market(part, OPTIONS_MARKET, contracts, skips)
        for rec in recordings
        if (part := market_part(rec, OPTIONS_MARKET)) is not None
    ]
    if flat:
        rows = [_read_flat(p, symbols, skips) for p in flat]
        merged = rows[0] if len(rows) == 1 else heapq.merge(*rows, key=_first)
        streams.insert(0, _batch_rows(merged))
    stream = streams[0] if len(streams) == 1 else heapq.merge(*streams, key=_first)
    lo = start_ns if start_ns is not None else -(1 << 63)
    hi = end_ns if end_ns is not None else 1 << 63
    found = False
    for clock, events in stream:
        if clock >= hi:
            break
        if clock >= lo and events:
            found = True
            yield clock, events
    if not found:
        raise BacktestDataError(
            f"{path}: no events selected (symbols={sorted(symbols) if symbols else 'all'}, "
            f"start_ns={start_ns}, end_ns={end_ns})"
        )


@dataclass(slots=True)
class DataSummary:
    """What :func:`describe` found: enough to choose symbols and a time window."""

    frames: int = 0
    events: dict[str, int] = field(default_factory=dict)  # by ``ev`` tag: Q, T, A, AM, LULD
    first_ns: int | None = None
    last_ns: int | None = None
    symbols: set[str] = field(default_factory=set)


def describe(path: Path) -> DataSummary:
    """Counts, time range and symbols of ``path``: one pass of the reader, no strategy."""
    summary = DataSummary()
    counts = summary.events
    for clock, events in iter_batches(path):
        if summary.first_ns is None:
            summary.first_ns = clock
        summary.last_ns = clock
        summary.frames += 1
        for event in events:
            counts[event.channel] = counts.get(event.channel, 0) + 1
            summary.symbols.add(event.symbol)
    return summary


def _is_recording(path: Path) -> bool:
    if path.is_dir():
        return (path / MANIFEST_NAME).exists() or bool(segment_files(path))
    return path.suffix == SEGMENT_SUFFIX


def _is_flat(path: Path) -> bool:
    return path.is_file() and path.name.endswith(FLAT_SUFFIXES)


def _sources(path: Path) -> tuple[list[Path], list[Path]]:
    """``(flat files, recordings)`` of ``path``: itself, or a folder's entries by name."""
    if not path.exists():
        raise BacktestDataError(f"{path}: no such file or folder")
    if _is_recording(path):
        return [], [path]
    if _is_flat(path):
        return [path], []
    if not path.is_dir():
        raise BacktestDataError(
            f"{path}: unknown file type (expected a Polygon trades/quotes (or crypto trades/minute "
            f"aggs) flat file "
            f"{'/'.join(FLAT_SUFFIXES)}, a {SEGMENT_SUFFIX} segment or a recording folder)"
        )
    entries = sorted(p for p in path.iterdir() if not p.name.startswith("."))
    flat = [p for p in entries if _is_flat(p)]
    recordings = [p for p in entries if _is_recording(p)]
    if not flat and not recordings:
        raise BacktestDataError(f"{path}: no flat files ({', '.join(FLAT_SUFFIXES)}) or recordings")
    return flat, recordings


def _read_recording(path: Path, symbols: frozenset[str] | None, skips: Skips) -> Iterator[Batch]:
    """One batch per recorded frame, decoded as the live client decodes it."""
    market = crypto_data.recording_market(path)  # a crypto/ or options/ part given alone
    picked = OptionsOf(symbols) if market == OPTIONS_MARKET and symbols is not None else symbols
    yield from read_recorded_market(path, market if market in MARKETS else "stocks", picked, skips)


def _batch_rows(rows: Iterable[_Row]) -> Iterator[Batch]:
    """Rows sharing a millisecond as one frame of at most 500, as ``flat_batches`` does."""
    batch: list[MarketEvent | CryptoEvent] = []
    clock = ms = -1
    count = 0
    cap = REPLAY_BATCH_MAX
    for ns, event in rows:
        if ns // 1_000_000 != ms or count >= cap:
            if count:
                yield clock, batch
                batch = []
            clock, ms, count = ns, ns // 1_000_000, 0
        count += 1
        if event is not None:
            batch.append(event)
    if count:
        yield clock, batch


def _read_flat(path: Path, symbols: frozenset[str] | None, skips: Skips) -> Iterator[_Row]:
    line, last = 1, -1  # lines before the chunk; the last row's ns (files must be in order)
    try:
        chunks = _chunks(path)
        head, _, text = next(chunks, "").partition("\n")
        header = next(csv.reader([head]), [])
        parse = _row_parser(path, header, symbols)
        fast = header == list(QUOTE_COLUMNS)
        for block in itertools.chain((text,), chunks):
            rows = _fast_quotes(block, symbols, last) if fast else None
            if rows is None:
                rows = _slow_rows(path, block, line, last, parse)
            if rows:
                last = rows[-1][0]
            line += block.count("\n")
            yield from (r for r in rows if r[1] is None or skips.keep(r[1]))
    except (OSError, EOFError, zlib.error, csv.Error, UnicodeDecodeError) as exc:
        raise BacktestDataError(f"{path}:{line}: unreadable: {exc}") from None


def _chunks(path: Path) -> Iterator[str]:
    """The file's text in blocks of whole lines: few, large string operations per block."""
    with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as f:
        rest = b""
        while block := f.read(1 << 22):
            block = rest + block
            cut = block.rfind(b"\n") + 1
            rest = block[cut:]
            if cut:
                yield block[:cut].decode()
        if rest:
            yield rest.decode() + "\n"


def _slow_rows(path: Path, text: str, line: int, last: int, parse: _RowParser) -> list[_Row]:
    """Any CSV, any column order; names the line of a bad or out-of-order row."""
    out: list[_Row] = []
    reader = csv.reader(text.splitlines())
    for row in reader:
        where = f"{path}:{line + reader.line_num}"
        try:
            item = parse(row)
        except (ValueError, IndexError) as exc:
            raise BacktestDataError(f"{where}: bad row: {exc}: {','.join(row)[:200]!r}") from None
        if item[0] < last:
            raise BacktestDataError(
                f"{where}: rows are not in sip_timestamp order; sort the file by it first"
            )
        last = item[0]
        out.append(item)
    return out


def _fast_quotes(text: str, symbols: frozenset[str] | None, last: int) -> list[_Row] | None:
    """Quotes in the reference's column order, parsed by msgspec in one call per block.

    The block becomes a JSON array of string arrays, which ``strict=False`` converts to
    numbers in C: ~2x the ``csv`` path. Anything unusual (escapes, an empty number, rows
    out of order) returns None and the block goes the slow way, which names the line.
    """
    if "\\" in text or "\r" in text or '""' in text:
        return None
    if '"' in text:  # "12,37" -> 12;37
        text = _QUOTED.sub(lambda m: m[1].replace(",", ";"), text)
    try:
        rows = _QUOTE_ROWS.decode(
            '[["' + text[:-1].replace(",", '","').replace("\n", '"],["') + '"]]'
        )
    except msgspec.MsgspecError:
        return None
    out: list[_Row] = []
    add = out.append
    try:
        for sym, ax, ap, as_, bx, bp, bs, c, i, _, q, ns, z, _ in rows:
            if ns < last:
                return None
            last = ns
            if symbols is not None and sym not in symbols:
                add((ns, None))
                continue
            cond = int(c) if c.isdigit() else next(iter(_ints(c.replace(";", ",")) or ()), None)
            inds = _ints(i.replace(";", ",")) if i else None
            add((ns, Quote(sym, bp, ap, bs, as_, bx, ax, cond, inds, ns // 1_000_000, q, z)))
    except ValueError:  # e.g. past int()'s 4,300-digit limit: the slow way names the line
        return None
    return out


def _row_parser(path: Path, header: list[str], symbols: frozenset[str] | None) -> _RowParser:
    """A parser for this file's column order (found by name, as the reference lists them)."""
    cols = {name.strip(): i for i, name in enumerate(header)}
    if all(c in cols for c in QUOTE_COLUMNS):
        return _quote_parser(cols, symbols)
    if all(c in cols for c in TRADE_COLUMNS):
        return _trade_parser(cols, symbols)
    raise BacktestDataError(
        f"{path}: not a stocks trades or quotes flat file: columns {header[:16]}; expected "
        f"trades {list(TRADE_COLUMNS)} or quotes {list(QUOTE_COLUMNS)}"
    )


def _ints(text: str) -> list[int] | None:
    return [int(x) for x in text.split(",") if x.strip()] or None


def _quote_parser(cols: dict[str, int], symbols: frozenset[str] | None) -> _RowParser:
    sym_, ax_, ap_, as_, bx_, bp_, bs_, c_, i_, _, q_, ns_, z_, _ = (cols[c] for c in QUOTE_COLUMNS)

    def parse(r: list[str]) -> _Row:
        ns = int(r[ns_])
        sym = r[sym_]
        if symbols is not None and sym not in symbols:
            return ns, None
        c = r[c_]
        conds = int(c) if c.isdigit() else next(iter(_ints(c) or ()), None)
        i = r[i_]
        return ns, Quote(
            sym,
            float(r[bp_] or 0),
            float(r[ap_] or 0),
            float(r[bs_] or 0),
            float(r[as_] or 0),
            int(r[bx_] or 0),
            int(r[ax_] or 0),
            conds,
            _ints(i) if i else None,
            ns // 1_000_000,
            int(r[q_] or 0),
            int(r[z_] or 0),
        )

    return parse


def _trade_parser(cols: dict[str, int], symbols: frozenset[str] | None) -> _RowParser:
    sym_, c_, _, x_, id_, _, p_, q_, ns_, s_, z_, trfi_, trft_ = (cols[c] for c in TRADE_COLUMNS)

    def parse(r: list[str]) -> _Row:
        ns = int(r[ns_])
        sym = r[sym_]
        if symbols is not None and sym not in symbols:
            return ns, None
        c, trfi, trft = r[c_], r[trfi_], r[trft_]
        return ns, Trade(
            sym,
            float(r[p_]),
            float(r[s_] or 0),
            int(r[x_] or 0),
            r[id_],
            _ints(c) if c else None,
            ns // 1_000_000,
            int(r[q_] or 0),
            int(r[z_] or 0),
            int(trfi) if trfi else None,
            int(trft) // 1_000_000 if trft else None,
        )

    return parse


def write_quotes_flat_file(path: Path, symbols: Iterable[str], n: int, seed: int = 7) -> Path:
    """A deterministic quotes_v1 file (gzipped if named .gz) for tests and the bench: rows
    0-300 µs apart as on a busy day, ~2% one-sided, ~5% condition lists, decimal sizes."""
    rng = random.Random(seed)
    names = list(symbols)
    mids = {s: rng.uniform(20, 400) for s in names}
    ns = 1_735_830_000_000_000_000
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(QUOTE_COLUMNS)
    for seq in range(1, n + 1):
        ns += rng.randrange(300_000)
        sym = names[rng.randrange(len(names))]
        mid = mids[sym] = max(1.0, mids[sym] * (1 + rng.gauss(0, 0.0002)))
        bid, ask = round(mid - 0.01, 2), round(mid + 0.01, 2)
        bs, asz = rng.randint(1, 20), rng.choice(("1", "3", "100.0", "0.5"))
        side = rng.randrange(100)
        bid_row = (0, 0, 0) if side == 0 else (rng.choice((11, 12, 15)), bid, bs)
        ask_row = (0, 0, 0) if side == 1 else (rng.choice((11, 12, 19)), ask, asz)
        conds = "1,3" if rng.randrange(20) == 0 else "1"
        out.writerow(
            (sym, *ask_row, *bid_row, conds, "", ns - 1000, seq, ns, 3 if sym < "N" else 1, "")
        )
    data = buf.getvalue().encode()
    path.write_bytes(gzip.compress(data, 6, mtime=0) if path.suffix == ".gz" else data)
    return path
