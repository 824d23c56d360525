"""Synthetic 24/7 crypto market data for the simulator's Massive ``/crypto`` cluster.

Events are shaped as Massive sends them (reference/crypto-options.md 3d and the real payloads
in tests/fixtures/polygon/crypto): ``XQ`` quotes ``{ev, pair, bp, bs, ap, as, t, x, r}`` and
``XT`` trades ``{ev, pair, p, t, s, c, i, x, r}``, the pair in the socket form ``BTC-USD``,
prices and sizes as floats (sizes in coins), ``c`` a list with 0 (none), 1 (sellside) or 2
(buyside), ``i`` an integer trade id (as the spec's example), ``r`` Massive's receive time in
Unix ms a few ms after ``t``. With ``bars``, the trades also make ``XAS`` (second) and ``XA``
(minute) aggregates ``{ev, pair, v, vw, z, o, c, h, l, s, e}``, published once a later trade
passes the window's end and only for pairs that traded in it, as Massive publishes no bar for
a window without trades (reference 3d). Crypto never closes, so nothing here knows a session. Same seed,
same events, like :class:`~tradewire.sim.sources.SyntheticMarket`, whose ``batch`` interface
this shares so :func:`~tradewire.sim.sources.run_synthetic` drives either.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tradewire.sim.sources import Event

# Plausible start prices; any other pair starts at a seeded random price.
_START_PRICES = {"BTC/USD": 60_000.0, "ETH/USD": 3_000.0, "SOL/USD": 150.0, "LTC/USD": 80.0}
# Massive's crypto exchange ids (1 Coinbase, 2 Bitfinex, 6 Bitstamp, 23 Kraken).
_EXCHANGES = (1, 2, 6, 23)


@dataclass(slots=True)
class _Pair:
    mid: float
    spread_bps: float


def feed_pair(symbol: str) -> str:
    """``BTC/USD`` (or ``BTC-USD``) as Massive's socket writes it: ``BTC-USD``."""
    return symbol.strip().upper().replace("/", "-", 1)


class CryptoBarBuilder:
    """Second (``XAS``) and minute (``XA``) aggregates of ``XT`` trades, per pair."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, str], dict[str, Any]] = {}

    def add(self, trade: Event) -> list[Event]:
        out: list[Event] = []
        pair, price, size, ts = trade["pair"], float(trade["p"]), float(trade["s"]), trade["t"]
        for ev, width in (("XAS", 1_000), ("XA", 60_000)):
            start = ts - ts % width
            bar = self._open.get((ev, pair))
            if bar is not None and bar["s"] != start:
                out.append(_close(ev, pair, bar))
                bar = None
            if bar is None:
                bar = {"s": start, "e": start + width, "o": price, "h": price, "l": price}
                bar.update({"c": price, "v": 0.0, "n": 0.0, "cnt": 0})
                self._open[(ev, pair)] = bar
            bar["h"] = max(bar["h"], price)
            bar["l"] = min(bar["l"], price)
            bar["c"] = price
            bar["v"] += size
            bar["n"] += price * size
            bar["cnt"] += 1
        return out


def _close(ev: str, pair: str, bar: dict[str, Any]) -> Event:
    volume = bar["v"]
    return {
        "ev": ev,
        "pair": pair,
        "v": round(volume, 8),
        "vw": round(bar["n"] / volume, 4) if volume else bar["c"],
        "z": round(volume / bar["cnt"]),  # the average trade size, an integer as in the spec
        "o": bar["o"],
        "c": bar["c"],
        "h": bar["h"],
        "l": bar["l"],
        "s": bar["s"],
        "e": bar["e"],
    }


class SyntheticCrypto:
    """Deterministic ``XQ`` quotes and ``XT`` trades for crypto pairs, around the clock."""

    def __init__(
        self,
        pairs: Sequence[str],
        *,
        seed: int = 7,
        quotes_per_trade: int = 3,
        start_ms: int | None = None,
        bars: bool = True,
    ) -> None:
        self.rng = random.Random(seed)
        self.pairs = [feed_pair(p) for p in pairs]
        if not self.pairs:
            raise ValueError("SyntheticCrypto needs at least one pair")
        self.quotes_per_trade = max(1, quotes_per_trade)
        self.now_ms = start_ms if start_ms is not None else int(time.time() * 1000)
        self.books = {
            p: _Pair(
                mid=_START_PRICES.get(p.replace("-", "/"), round(self.rng.uniform(0.5, 500), 4)),
                spread_bps=self.rng.uniform(0.5, 3.0),
            )
            for p in self.pairs
        }
        self._trade_id = 10_000_000
        self.bars = CryptoBarBuilder() if bars else None

    def __repr__(self) -> str:
        return f"SyntheticCrypto(pairs={self.pairs}, now_ms={self.now_ms})"

    def quote(self, pair: str) -> Event:
        rng = self.rng
        book = self.books[pair]
        book.mid = max(1e-6, book.mid * (1.0 + rng.gauss(0.0, 0.0003)))
        half = book.mid * book.spread_bps / 20_000
        bid = round(book.mid - half, 2 if book.mid >= 10 else 6)
        ask = round(book.mid + half, 2 if book.mid >= 10 else 6)
        if ask <= bid:
            ask = round(bid + (0.01 if book.mid >= 10 else 0.000001), 6)
        return {
            "ev": "XQ",
            "pair": pair,
            "bp": bid,
            "bs": round(rng.uniform(0.001, 3.0), 8),
            "ap": ask,
            "as": round(rng.uniform(0.001, 3.0), 8),
            "t": self.now_ms,
            "x": rng.choice(_EXCHANGES),
            "r": self.now_ms + rng.randint(1, 20),
        }

    def trade(self, pair: str, last_quote: Event) -> Event:
        rng = self.rng
        buyside = rng.random() < 0.5
        self._trade_id += 1
        return {
            "ev": "XT",
            "pair": pair,
            "p": last_quote["ap"] if buyside else last_quote["bp"],
            "t": self.now_ms,
            "s": round(rng.uniform(0.0001, 0.5), 8),
            "c": [2 if buyside else 1],
            "i": self._trade_id,
            "x": last_quote["x"],
            "r": self.now_ms + rng.randint(1, 20),
        }

    def batch(self, count: int, *, advance_ms: int = 1) -> list[Event]:
        """``count`` quotes and trades (one more when the last quote prints a trade), and
        the aggregates those trades closed."""
        rng = self.rng
        out: list[Event] = []
        pairs = self.pairs
        while len(out) < count:
            pair = pairs[rng.randrange(len(pairs))]
            q = self.quote(pair)
            out.append(q)
            # The trade may make the batch one longer than asked: at a low rate every batch
            # is one event, and a trade that had to fit would never print.
            if rng.randrange(self.quotes_per_trade) == 0:
                trade = self.trade(pair, q)
                out.append(trade)
                if self.bars is not None:
                    out.extend(self.bars.add(trade))
        self.now_ms += advance_ms
        return out
