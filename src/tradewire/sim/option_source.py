"""Synthetic options market data for the simulator's Massive ``/options`` cluster (issue 24).

Each underlying (a stock the simulator also quotes) gets a chain listed by
:class:`~tradewire.sim.option_chain.OptionChains` from its first mid; from then on every
contract is priced by the chains' model at the underlying's **current** mid. Events are shaped
as Massive sends them (reference/crypto-options.md 3d; tests/fixtures/polygon/options):

- ``Q`` ``{ev, sym, bx, ax, bp, ap, bs, as, t, q}``: ``sym`` the Massive ticker
  ``O:SPY260731P00395000``, prices floats in dollars, sizes integers **in contracts**, ``bx``/
  ``ax`` an OPRA exchange id, ``t`` Unix ms, ``q`` a sequence number per contract;
- ``T`` ``{ev, sym, x, p, s, c, t, q}``: now and then, at the bid or the ask just quoted; ``c``
  is the spec example's condition (233), the only one the project's sources show;
- ``A``/``AM`` second and minute aggregates of those trades
  (:class:`~tradewire.sim.sources.BarBuilder`: ``v, av, op, vw, o, c, h, l, a, z, s, e``),
  published once a later trade passes the window's end.

The rate is bounded: each tick (``period_s``, 0.1 s) re-prices only the contracts some client
subscribed to (any of Q, T, A, AM by ticker, or the cluster's wildcard), sends a quote only
when the model's bid or ask moved (or the contract was never quoted), and at most
``max_quotes`` per tick, in turn. So every listed contract has a price the broker can fill
against, a few unsubscribed contracts per tick (``background``) are priced in turn straight
into the shared :class:`~tradewire.sim.market.MarketState` under Alpaca's symbol, without a
frame. Subscribed quotes reach the same state through the feed server's ``publish``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from tradewire.engine.options import OptionContract
from tradewire.sim.market import NBBO, MarketState
from tradewire.sim.option_chain import OptionChains, listing_day
from tradewire.sim.sources import BarBuilder, Event, Publisher

# OPRA participant ids as Massive numbers them (the spec example quotes 302, prints on 65).
OPTION_EXCHANGES = (300, 301, 302, 303, 304, 309, 312, 313, 316, 319, 322, 325)
TRADE_CONDITION = 233  # the spec example's
CHANNELS = ("Q", "T", "A", "AM")

Subscribed = Callable[[str, str], bool]
"""``(ev, ticker) -> bool``: does a client hear this channel (the feed server's
:meth:`~tradewire.sim.feed.server.PolygonFeedServer.has_subscriber`)."""


class SyntheticOptions:
    """Quotes, trades and bars of the listed contracts of ``underlyings``, priced from the
    underlyings' mids in ``market``."""

    def __init__(
        self,
        chains: OptionChains,
        underlyings: Sequence[str],
        market: MarketState,
        *,
        seed: int = 7,
        max_quotes: int = 64,
        background: int = 8,
        trade_probability: float = 0.1,
    ) -> None:
        self.chains = chains
        self.underlyings = [u.strip().upper() for u in underlyings]
        self.market = market
        self.rng = random.Random(seed)
        self.max_quotes = max_quotes
        self.background = background
        self.trade_probability = trade_probability
        self.bars = BarBuilder()
        self._sent: dict[str, tuple[float, float]] = {}  # ticker -> (bid, ask) last quoted
        self._seq: dict[str, int] = {}
        self._turn = 0  # round-robin start among the subscribed contracts
        self._bg_turn = 0  # round-robin start among all contracts

    def __repr__(self) -> str:
        return f"SyntheticOptions(underlyings={self.underlyings}, contracts={len(self.chains)})"

    def _spot(self, underlying: str) -> tuple[float, int] | None:
        nbbo = self.market.nbbo(underlying)
        if nbbo is None or nbbo.bid_price <= 0 or nbbo.ask_price <= 0:
            return None
        return (nbbo.bid_price + nbbo.ask_price) / 2, nbbo.timestamp_ms

    def tick(self, subscribed: Subscribed, now_ms: int | None = None) -> list[Event]:
        """This tick's events for subscribers (the unsubscribed background contracts go to
        ``market`` directly). Lists an underlying's chain once its first mid is known."""
        wall = now_ms if now_ms is not None else int(time.time() * 1000)
        active: list[tuple[OptionContract, float, int]] = []
        idle: list[tuple[OptionContract, float, int]] = []
        for underlying in self.underlyings:
            spot = self._spot(underlying)
            if spot is None:
                continue
            mid, ts = spot
            ts = ts or wall
            today = listing_day(datetime.fromtimestamp(ts / 1000, UTC))
            for contract in self.chains.list_underlying(underlying, mid, today):
                ticker = contract.massive_ticker
                wanted = any(subscribed(ev, ticker) for ev in CHANNELS)
                (active if wanted else idle).append((contract, mid, ts))
        events: list[Event] = []
        if active:
            start = self._turn % len(active)
            turn = active[start:] + active[:start]
            sent = 0
            for contract, mid, ts in turn:
                if sent >= self.max_quotes:
                    break
                quote = self._quote(contract, mid, ts)
                if quote is not None:
                    sent += 1
                    events.append(quote)
                    if self.rng.random() < self.trade_probability:
                        trade = self._trade(quote)
                        events.append(trade)
                        events.extend(self.bars.add(trade))
            self._turn = start + max(sent, 1)
        if idle:
            for i in range(min(self.background, len(idle))):
                contract, mid, ts = idle[(self._bg_turn + i) % len(idle)]
                self._background(contract, mid, ts)
            self._bg_turn += self.background
        return events

    def _quote(self, contract: OptionContract, mid: float, ts: int) -> Event | None:
        ticker = contract.massive_ticker
        price = self.chains.price(contract, mid, datetime.fromtimestamp(ts / 1000, UTC))
        if self._sent.get(ticker) == (price.bid, price.ask):
            return None
        self._sent[ticker] = (price.bid, price.ask)
        rng = self.rng
        exchange = rng.choice(OPTION_EXCHANGES)
        return {
            "ev": "Q",
            "sym": ticker,
            "bx": exchange,
            "ax": rng.choice(OPTION_EXCHANGES),
            "bp": price.bid,
            "ap": price.ask,
            "bs": rng.randint(1, 50),
            "as": rng.randint(1, 50),
            "t": ts,
            "q": self._next(ticker),
        }

    def _trade(self, quote: Event) -> Event:
        rng = self.rng
        ticker = quote["sym"]
        at_ask = rng.random() < 0.5 or quote["bp"] <= 0
        return {
            "ev": "T",
            "sym": ticker,
            "x": quote["ax"] if at_ask else quote["bx"],
            "p": quote["ap"] if at_ask else quote["bp"],
            "s": rng.randint(1, 10),
            "c": [TRADE_CONDITION],
            "t": quote["t"],
            "q": self._next(ticker),
        }

    def _background(self, contract: OptionContract, mid: float, ts: int) -> None:
        price = self.chains.price(contract, mid, datetime.fromtimestamp(ts / 1000, UTC))
        size = float(self.rng.randint(1, 50))
        self.market.publish_quote(NBBO(contract.symbol, price.bid, size, price.ask, size, ts))

    def _next(self, ticker: str) -> int:
        seq = self._seq.get(ticker, 0) + 1
        self._seq[ticker] = seq
        return seq


async def run_options(
    publish: Publisher,
    source: SyntheticOptions,
    subscribed: Subscribed,
    *,
    period_s: float = 0.1,
    duration_s: float = 0.0,
) -> int:
    """Tick ``source`` every ``period_s`` and publish its events; returns how many."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = 0
    while duration_s <= 0 or loop.time() - start < duration_s:
        events = source.tick(subscribed)
        if events:
            publish(events)
            sent += len(events)
        await asyncio.sleep(period_s)
    return sent
