"""Market data for the simulator: a seeded synthetic generator and flat-file replay.

Both produce wire-format events (reference/polygon.md section 3: single-letter keys,
millisecond timestamps, quote sizes in round lots) and hand them to a publisher, which
is the feed server's :meth:`~tradewire.sim.feed.server.PolygonFeedServer.publish`.
The generator is deterministic for a seed, so a test or a benchmark can be replayed.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import heapq
import io
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

Event = dict[str, Any]
Publisher = Callable[[Sequence[Event]], int]


class EventSource(Protocol):
    """What :func:`run_synthetic` drives: stocks (:class:`SyntheticMarket`) or crypto
    (:class:`~tradewire.sim.crypto_source.SyntheticCrypto`)."""

    now_ms: int

    def batch(self, count: int, *, advance_ms: int = 1) -> list[Event]: ...


DEFAULT_SYMBOLS = (
    "AAPL",
    "MSFT",
    "NVDA",
    "AMZN",
    "GOOGL",
    "META",
    "TSLA",
    "AVGO",
    "JPM",
    "V",
    "SPY",
    "QQQ",
    "IWM",
    "AMD",
    "NFLX",
    "COST",
    "WMT",
    "XOM",
    "BAC",
    "KO",
)

_START_PRICES = {"SPY": 600.0, "QQQ": 520.0, "IWM": 230.0, "NVDA": 180.0, "TSLA": 350.0}


def symbols_for(spec: str | int | Sequence[str]) -> list[str]:
    """``"AAPL,MSFT"`` → those; ``500`` or ``"500"`` → the defaults then ``SYM020``…"""
    if isinstance(spec, str) and not spec.isdigit():
        return [s.strip().upper() for s in spec.split(",") if s.strip()]
    if isinstance(spec, (str, int)):
        count = int(spec)
        base = list(DEFAULT_SYMBOLS[:count])
        base.extend(f"SYM{i:03d}" for i in range(len(base), count))
        return base
    return list(spec)


@dataclass(slots=True)
class _Book:
    # Per-symbol random-walk state; mid in dollars, spread in cents.
    mid: float
    spread_cents: int
    seq: int = 0


class SyntheticMarket:
    """Deterministic NBBO quotes and trades for many symbols.

    The mid follows a random walk with per-symbol volatility; the spread is 1–5 cents;
    prices are on the cent grid; trades print inside the spread about once per
    ``quotes_per_trade`` quotes. Same seed, same events.
    """

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        seed: int = 7,
        quotes_per_trade: int = 4,
        start_ms: int | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.symbols = list(symbols)
        self.quotes_per_trade = max(1, quotes_per_trade)
        self.now_ms = start_ms if start_ms is not None else int(time.time() * 1000)
        self.books = {
            s: _Book(
                mid=_START_PRICES.get(s, round(self.rng.uniform(20, 400), 2)),
                spread_cents=self.rng.randint(1, 3),
            )
            for s in self.symbols
        }
        self._trade_id = 0

    def __repr__(self) -> str:
        return f"SyntheticMarket(symbols={len(self.symbols)}, now_ms={self.now_ms})"

    def quote(self, symbol: str) -> Event:
        rng = self.rng
        book = self.books[symbol]
        # Volatility of ~2 bps per tick keeps prices realistic over long runs.
        book.mid = max(1.0, book.mid * (1.0 + rng.gauss(0.0, 0.0002)))
        if rng.random() < 0.1:
            book.spread_cents = min(5, max(1, book.spread_cents + rng.choice((-1, 1))))
        half = book.spread_cents / 200.0
        bid = math.floor((book.mid - half) * 100 + 1e-9) / 100
        ask = max(round(bid + book.spread_cents / 100, 2), round(bid + 0.01, 2))
        book.seq += 1
        return {
            "ev": "Q",
            "sym": symbol,
            "bx": rng.choice((11, 12, 15, 19)),
            "bp": bid,
            "bs": rng.randint(1, 20),
            "ax": rng.choice((11, 12, 15, 19)),
            "ap": ask,
            "as": rng.randint(1, 20),
            "c": 1,
            "t": self.now_ms,
            "q": book.seq,
            "z": 3,
        }

    def trade(self, symbol: str, last_quote: Event) -> Event:
        rng = self.rng
        bid, ask = last_quote["bp"], last_quote["ap"]
        cents = max(0, round((ask - bid) * 100))
        price = round(bid + rng.randint(0, cents) / 100, 2)
        self._trade_id += 1
        self.books[symbol].seq += 1
        event: Event = {
            "ev": "T",
            "sym": symbol,
            "x": rng.choice((4, 11, 12)),
            "i": str(self._trade_id),
            "z": 3,
            "p": price,
            "s": rng.choice((1, 5, 10, 50, 100, 200, 500)),
            "t": self.now_ms,
            "q": self.books[symbol].seq,
        }
        if rng.random() < 0.3:
            event["c"] = [rng.choice((12, 37, 41))]
        return event

    def batch(self, count: int, *, advance_ms: int = 1) -> list[Event]:
        """``count`` events (quotes plus the trades they trigger) across random symbols."""
        rng = self.rng
        out: list[Event] = []
        symbols = self.symbols
        while len(out) < count:
            sym = symbols[rng.randrange(len(symbols))]
            q = self.quote(sym)
            out.append(q)
            if rng.randrange(self.quotes_per_trade) == 0 and len(out) < count:
                out.append(self.trade(sym, q))
        self.now_ms += advance_ms
        return out


class BarBuilder:
    """Builds per-second ``A`` and per-minute ``AM`` bars from trades, as Polygon does.

    Bars are emitted for a window once a later trade's timestamp passes its end, and only
    for tickers that traded in it.
    """

    def __init__(self) -> None:
        self._open: dict[tuple[str, str], dict[str, Any]] = {}
        self._day: dict[str, dict[str, float]] = {}

    def add(self, trade: Event) -> list[Event]:
        out: list[Event] = []
        sym, price, size, ts = trade["sym"], float(trade["p"]), float(trade["s"]), int(trade["t"])
        day = self._day.setdefault(sym, {"open": price, "volume": 0.0, "notional": 0.0})
        day["volume"] += size
        day["notional"] += price * size
        for ev, width in (("A", 1_000), ("AM", 60_000)):
            start = ts - ts % width
            bar = self._open.get((ev, sym))
            if bar is not None and bar["s"] != start:
                out.append(self._close(ev, sym, bar))
                bar = None
            if bar is None:
                bar = {
                    "s": start,
                    "e": start + width,
                    "o": price,
                    "h": price,
                    "l": price,
                    "c": price,
                    "v": 0.0,
                    "n": 0.0,
                    "cnt": 0,
                }
                self._open[(ev, sym)] = bar
            bar["h"] = max(bar["h"], price)
            bar["l"] = min(bar["l"], price)
            bar["c"] = price
            bar["v"] += size
            bar["n"] += price * size
            bar["cnt"] += 1
        return out

    def _close(self, ev: str, sym: str, bar: dict[str, Any]) -> Event:
        day = self._day[sym]
        volume = bar["v"]
        return {
            "ev": ev,
            "sym": sym,
            "v": int(volume),
            "av": int(day["volume"]),
            "op": day["open"],
            "vw": round(bar["n"] / volume, 4) if volume else bar["c"],
            "o": bar["o"],
            "c": bar["c"],
            "h": bar["h"],
            "l": bar["l"],
            "a": round(day["notional"] / day["volume"], 4) if day["volume"] else bar["c"],
            "z": int(volume / bar["cnt"]) if bar["cnt"] else 0,
            "s": bar["s"],
            "e": bar["e"],
        }


async def run_synthetic(
    publish: Publisher,
    market: EventSource,
    *,
    rate: float,
    duration_s: float = 0.0,
    tick_s: float = 0.001,
    bars: bool = True,
) -> int:
    """Publish ``rate`` events/s, open loop: each tick sends what the clock says is due.

    Open loop means a slow consumer does not slow the source down (no coordinated
    omission); when the loop falls behind, the next tick sends the backlog in one batch.
    ``tick_s=0`` sends on every loop turn instead of every millisecond: events leave one or
    two at a time, evenly spaced, as a busy feed's do, instead of a burst per millisecond
    (20k/s in 1 ms ticks kept the simulator busy ~85 µs per tick, long enough to delay its
    own reading of an order and show up as tick-to-trade). It keeps a core busy.
    Returns the number of events published.
    """
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = 0
    builder = BarBuilder() if bars else None
    advance_ms = max(1, int(tick_s * 1000))
    while duration_s <= 0 or loop.time() - start < duration_s:
        due = int((loop.time() - start) * rate) - sent
        if due > 0:
            count = min(due, 50_000)  # a loop far behind catches up over several ticks
            if tick_s <= 0:
                market.now_ms = int(time.time() * 1000)
            events = market.batch(count, advance_ms=advance_ms if tick_s > 0 else 0)
            if builder is not None:
                extra = [bar for e in events if e["ev"] == "T" for bar in builder.add(e)]
                events.extend(extra)
            publish(events)
            sent += count
        await asyncio.sleep(tick_s)
    return sent


# -- flat files (reference/polygon.md section 8) -------------------------------------------

TRADE_COLUMNS = (
    "ticker",
    "conditions",
    "correction",
    "exchange",
    "id",
    "participant_timestamp",
    "price",
    "sequence_number",
    "sip_timestamp",
    "size",
    "tape",
    "trf_id",
    "trf_timestamp",
)
QUOTE_COLUMNS = (
    "ticker",
    "ask_exchange",
    "ask_price",
    "ask_size",
    "bid_exchange",
    "bid_price",
    "bid_size",
    "conditions",
    "indicators",
    "participant_timestamp",
    "sequence_number",
    "sip_timestamp",
    "tape",
    "trf_timestamp",
)


class FlatFileError(ValueError):
    """A flat file does not have the trades or quotes columns the reference lists."""


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _int_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _num(text: str) -> float | int:
    value = float(text) if text else 0.0
    return int(value) if value.is_integer() else value


def read_flat_file(path: Path) -> Iterator[tuple[int, Event]]:
    """Yield ``(sip_timestamp_ns, wire event)`` from a stocks trades or quotes flat file.

    Nanosecond timestamps become the milliseconds the WebSocket uses; empty optional
    fields are omitted, as Polygon omits them on the wire.
    """
    with _open_text(path) as fh:
        reader = csv.DictReader(fh)
        cols = tuple(reader.fieldnames or ())
        if set(cols) >= {"bid_price", "ask_price", "sip_timestamp", "ticker"}:
            kind = "Q"
        elif set(cols) >= {"price", "size", "sip_timestamp", "ticker"}:
            kind = "T"
        else:
            raise FlatFileError(f"{path}: not a trades or quotes flat file (columns: {cols})")
        for lineno, row in enumerate(reader, start=2):
            try:
                ns = int(row["sip_timestamp"])
                if kind == "Q":
                    event: Event = {
                        "ev": "Q",
                        "sym": row["ticker"],
                        "bx": int(row["bid_exchange"] or 0),
                        "bp": float(row["bid_price"] or 0),
                        "bs": _num(row["bid_size"]),
                        "ax": int(row["ask_exchange"] or 0),
                        "ap": float(row["ask_price"] or 0),
                        "as": _num(row["ask_size"]),
                        "t": ns // 1_000_000,
                        "q": int(row["sequence_number"] or 0),
                        "z": int(row["tape"] or 0),
                    }
                    conds = _int_list(row.get("conditions") or "")
                    if conds:
                        event["c"] = conds[0]
                    inds = _int_list(row.get("indicators") or "")
                    if inds:
                        event["i"] = inds
                else:
                    event = {
                        "ev": "T",
                        "sym": row["ticker"],
                        "x": int(row["exchange"] or 0),
                        "i": row["id"],
                        "z": int(row["tape"] or 0),
                        "p": float(row["price"]),
                        "s": _num(row["size"]),
                        "t": ns // 1_000_000,
                        "q": int(row["sequence_number"] or 0),
                    }
                    conds = _int_list(row.get("conditions") or "")
                    if conds:
                        event["c"] = conds
                    if row.get("trf_id"):
                        event["trfi"] = int(row["trf_id"])
                    if row.get("trf_timestamp"):
                        event["trft"] = int(row["trf_timestamp"]) // 1_000_000
            except (KeyError, ValueError) as exc:
                raise FlatFileError(f"{path}:{lineno}: bad row: {exc}") from None
            yield ns, event


def merge_flat_files(paths: Iterable[Path]) -> Iterator[tuple[int, Event]]:
    """All events of several files in timestamp order (files are each sorted by the vendor)."""
    return heapq.merge(*(read_flat_file(p) for p in paths), key=lambda pair: pair[0])


REPLAY_BATCH_MAX = 500  # events per frame at most, when many share a millisecond


def flat_batches(
    events: Iterable[tuple[int, Event]], *, batch_max: int = REPLAY_BATCH_MAX
) -> Iterator[tuple[int, list[Event]]]:
    """``(ns of the first event, events)`` frames: events sharing a millisecond go out in one
    frame, as the real feed batches them. ``tradewire backtest`` batches flat files the same
    way, so a strategy sees the same frames in a backtest as over the simulator's wire.
    """
    batch: list[Event] = []
    clock = ms = 0
    for ns, event in events:
        if batch and (ns // 1_000_000 != ms or len(batch) >= batch_max):
            yield clock, batch
            batch = []
        if not batch:
            clock, ms = ns, ns // 1_000_000
        batch.append(event)
    if batch:
        yield clock, batch


async def replay(
    publish: Publisher,
    events: Iterable[tuple[int, Event]],
    *,
    speed: float = 1.0,
    batch_max: int = REPLAY_BATCH_MAX,
) -> int:
    """Publish recorded events at ``speed`` × the recorded pace; ``speed <= 0`` = as fast as possible."""
    return await replay_batches(publish, flat_batches(events, batch_max=batch_max), speed=speed)


async def replay_batches(
    publish: Publisher, batches: Iterable[tuple[int, list[Event]]], *, speed: float = 1.0
) -> int:
    """Publish ``(ns, events)`` frames at ``speed`` × their pace; ``speed <= 0`` = at once.

    Each frame leaves when the replay clock reaches its time, so the gaps between frames are
    the recorded ones (divided by ``speed``). Returns the number of events published.
    """
    loop = asyncio.get_running_loop()
    wall0: float | None = None
    ts0 = 0
    sent = unyielded = 0
    for ns, events in batches:
        if speed > 0:
            if wall0 is None:
                wall0, ts0 = loop.time(), ns
            delay = wall0 + (ns - ts0) / 1e9 / speed - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        elif unyielded >= 10_000:
            unyielded = 0
            await asyncio.sleep(0)  # as fast as possible, but let the server write
        publish(events)
        sent += len(events)
        unyielded += len(events)
    return sent
