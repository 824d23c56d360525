"""Crypto market data for ``tradewire backtest`` (issue 23): recorded crypto frames and
Massive crypto flat files, as the typed events the live crypto client delivers.

- Recordings: the recorder writes the crypto cluster (``/crypto``) in a sub-recording,
  ``<recording>/crypto/``, whose manifest says ``"market": "crypto"``; its frames are decoded
  with :data:`~tradewire.venues.polygon.crypto.CRYPTO_FRAME_DECODER` (the stocks decoder
  would drop every ``XQ``/``XT``/``XA`` as unknown), with the live client's per-item fallback.
- Flat files (``global_crypto``): ``trades_v1`` rows become :class:`CryptoTrade` and
  ``minute_aggs_v1`` rows :class:`CryptoMinuteAggregate`, with the ticker ``X:BTCUSD`` as the
  wire pair ``BTC-USD`` (its :attr:`symbol` is the instrument key ``BTC/USD``, by
  :func:`~tradewire.engine.instruments.instrument_key`). Timestamps in the files are ns; the
  events carry ms as on the socket. The column lists are not in the project's reference (it
  says only that crypto flat files hold trades and minute/day aggregates): they follow
  Massive's flat-file docs as parsers in the wild read them, and are found by name, so
  another column order reads the same.
"""

from __future__ import annotations

import csv
import gzip
import heapq
from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter
from pathlib import Path
from typing import Any

from tradewire.backtest.recorded import read_recorded_market
from tradewire.backtest.sanity import Skips
from tradewire.engine.instruments import InstrumentError, instrument_key
from tradewire.errors import TradewireError
from tradewire.record.reader import CRYPTO_MARKET, crypto_part, recording_market
from tradewire.venues.polygon.crypto import (
    CryptoEvent,
    CryptoMinuteAggregate,
    CryptoTrade,
)

CRYPTO_TRADE_COLUMNS: tuple[str, ...] = ("ticker", "conditions", "exchange", "id")
CRYPTO_TRADE_COLUMNS += ("participant_timestamp", "price", "size")
AGG_COLUMNS = ("ticker", "volume", "open", "close", "high", "low", "window_start", "transactions")
MINUTE_MS = 60_000

__all__ = ["CRYPTO_MARKET", "crypto_part", "crypto_streams", "recording_market"]

_Row = tuple[int, CryptoEvent | None]
_Batch = tuple[int, list[Any]]


class CryptoDataError(TradewireError):
    """A crypto file cannot be read; the message names the file (and line)."""


def crypto_streams(
    flat: list[Path],
    recordings: list[Path],
    symbols: frozenset[str] | None,
    skips: Skips,
    batch_rows: Callable[[Iterable[Any]], Iterator[_Batch]],
) -> list[Iterator[_Batch]]:
    """The crypto batches of ``flat`` (whose crypto files are taken out of it) and of the
    recordings' crypto sub-recordings; ``batch_rows`` frames flat-file rows as the stocks'."""
    streams: list[Iterator[_Batch]] = []
    for rec in recordings:
        part = crypto_part(rec)
        if part is not None:
            streams.append(read_recorded_market(part, CRYPTO_MARKET, symbols, skips))
    kinds = [(p, crypto_flat_kind(p)) for p in flat]
    rows = [read_crypto_flat(p, k, symbols, skips) for p, k in kinds if k]
    if rows:
        flat[:] = [p for p, k in kinds if not k]
        merged = rows[0] if len(rows) == 1 else heapq.merge(*rows, key=itemgetter(0))
        streams.append(batch_rows(merged))
    return streams


def crypto_flat_kind(path: Path) -> str | None:
    """``trades`` or ``minute_aggs`` for a crypto flat file (its header, and an ``X:``
    ticker in its first row for aggregates, whose columns stocks share), else None."""
    try:
        with gzip.open(path, "rt") if path.suffix == ".gz" else path.open() as f:
            head = next(csv.reader([f.readline()]), [])
            first = next(csv.reader([f.readline()]), [])
    except (OSError, EOFError, UnicodeDecodeError, csv.Error):
        return None
    names = [h.strip() for h in head]
    if names == list(CRYPTO_TRADE_COLUMNS) or (
        set(CRYPTO_TRADE_COLUMNS) <= set(names) and "sip_timestamp" not in names
    ):
        return "trades"
    if set(AGG_COLUMNS) <= set(names) and first and first[names.index("ticker")].startswith("X:"):
        return "minute_aggs"
    return None


def read_crypto_flat(
    path: Path, kind: str, symbols: frozenset[str] | None, skips: Skips
) -> Iterator[_Row]:
    """``(ns, event)`` of the selected rows of a crypto flat file, in time order.

    Massive's day files may list one ticker after another, so the selected rows are read
    whole and sorted (stable: rows of one nanosecond keep the file's order) when out of
    order; a crypto pair's day is small next to the stocks' quotes. Lazy, like the others:
    the file is read when the backtest reaches its first row.
    """
    rows = list(_flat_rows(path, kind, symbols, skips))
    if any(rows[i][0] > rows[i + 1][0] for i in range(len(rows) - 1)):
        rows.sort(key=itemgetter(0))
    yield from rows


def _flat_rows(
    path: Path, kind: str, symbols: frozenset[str] | None, skips: Skips
) -> Iterator[_Row]:
    line = 1
    try:
        with gzip.open(path, "rt") if path.suffix == ".gz" else path.open() as f:
            reader = csv.reader(f)
            cols = {name.strip(): i for i, name in enumerate(next(reader, []))}
            parse = _trade_parser(cols) if kind == "trades" else _agg_parser(cols)
            pairs: dict[str, str | None] = {}
            ts_, ticker_ = cols[_ts(kind)], cols["ticker"]
            # A bar is published when its minute ends: delivered at the window's end, so no
            # strategy sees a minute's close before the minute is over.
            delay = MINUTE_MS * 1_000_000 if kind == "minute_aggs" else 0
            for row in reader:
                line = reader.line_num
                if not row:
                    continue
                try:
                    pair = _pair(row[ticker_], pairs)
                    if pair is None or (
                        symbols is not None and pair.replace("-", "/") not in symbols
                    ):
                        continue
                    ns = int(row[ts_])
                    event = parse(row, pair, ns)
                except (ValueError, IndexError) as exc:
                    raise CryptoDataError(
                        f"{path}:{line}: bad row: {exc}: {','.join(row)[:200]!r}"
                    ) from None
                if skips.keep(event):
                    yield ns + delay, event
    except (OSError, EOFError, csv.Error, UnicodeDecodeError) as exc:
        raise CryptoDataError(f"{path}:{line}: unreadable: {exc}") from None


def _ts(kind: str) -> str:
    return "participant_timestamp" if kind == "trades" else "window_start"


def _pair(ticker: str, seen: dict[str, str | None]) -> str | None:
    """``X:BTCUSD`` as the socket's ``BTC-USD`` (None: not a pair)."""
    if ticker not in seen:
        try:
            seen[ticker] = instrument_key(ticker, "crypto").replace("/", "-")
        except InstrumentError:
            seen[ticker] = None
    return seen[ticker]


def _ints(text: str) -> list[int] | None:
    cleaned = text.strip().strip("[]{}")
    return [int(x) for x in cleaned.replace(";", ",").split(",") if x.strip()] or None


_Parser = Callable[[list[str], str, int], CryptoEvent]


def _trade_parser(cols: dict[str, int]) -> _Parser:
    c_, x_, id_, _, p_, s_ = (cols[c] for c in CRYPTO_TRADE_COLUMNS[1:])

    def parse(r: list[str], pair: str, ns: int) -> CryptoEvent:
        return CryptoTrade(
            pair,
            price=float(r[p_]),
            size=float(r[s_] or 0),
            conditions=_ints(r[c_]),
            id=r[id_],
            exchange=int(r[x_] or 0),
            timestamp=ns // 1_000_000,
        )

    return parse


def _agg_parser(cols: dict[str, int]) -> _Parser:
    v_, o_, c_, h_, l_, _, _ = (cols[c] for c in AGG_COLUMNS[1:])

    def parse(r: list[str], pair: str, start_ns: int) -> CryptoEvent:
        start = start_ns // 1_000_000
        volume = float(r[v_] or 0)
        return CryptoMinuteAggregate(
            pair,
            open=float(r[o_]),
            close=float(r[c_]),
            high=float(r[h_]),
            low=float(r[l_]),
            volume=volume,
            start=start,
            end=start + MINUTE_MS,
        )

    return parse
