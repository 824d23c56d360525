"""Which strategy hears which symbol, and what the market last said of each: the core's hot loop.

Only routed symbols are remembered (a hostile feed's millions of others must not grow the
tables), a non-finite mid is no reference price, and with a simulated venue
(:class:`~tradewire.engine.ports.MarketVenue`) the venue sees each event before the
strategies, in the same one pass (the backtest with zero feed latency).

Massive's crypto events (``XQ``, ``XT``, ``XAS``, ``XA``) take the stock paths: the same field
names, keyed by ``.symbol`` (``BTC-USD`` on the socket is the instrument key ``BTC/USD``).
Each stock type is tested first, so a stock event pays nothing for them (issue 23).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tradewire.venues.polygon.crypto import (
    CryptoAggregate,
    CryptoMinuteAggregate,
    CryptoQuote,
    CryptoTrade,
)
from tradewire.venues.polygon.messages import Aggregate, MinuteAggregate, Quote, Trade

if TYPE_CHECKING:
    from tradewire.engine.ports import MarketVenue
    from tradewire.engine.strategy import Strategy
    from tradewire.engine.supervisor import Supervisor

_INF = float("inf")
_BARS = frozenset({Aggregate, MinuteAggregate, CryptoAggregate, CryptoMinuteAggregate})


class MarketRouter:
    """Routes market events to strategies and keeps the last quote, mid and trade of each
    routed symbol (what risk prices an order at, and what a strategy reads)."""

    def __init__(self, supervisor: Supervisor) -> None:
        self._supervisor = supervisor
        self.quote_routes: dict[str, list[Strategy]] = {}
        self.trade_routes: dict[str, list[Strategy]] = {}
        self.bar_routes: dict[str, list[Strategy]] = {}
        self.mids: dict[str, float] = {}
        self.quotes: dict[str, Quote] = {}
        self.last_trades: dict[str, float] = {}

    def route(self, strategy: Strategy, symbols: Sequence[str] | None = None) -> None:
        """Route ``symbols`` (by default the strategy's own) to ``strategy``."""
        for sym in strategy.symbols if symbols is None else symbols:
            for routes in (self.quote_routes, self.trade_routes, self.bar_routes):
                subscribers = routes.setdefault(sym, [])
                if strategy not in subscribers:
                    subscribers.append(strategy)

    def unroute(self, strategy: Strategy) -> None:
        for routes in (self.quote_routes, self.trade_routes, self.bar_routes):
            for subscribers in routes.values():
                if strategy in subscribers:
                    subscribers.remove(strategy)

    def track(self, symbols: Sequence[str]) -> None:
        """Keep reference prices for symbols no strategy here trades (a gateway's workers)."""
        for sym in symbols:
            for routes in (self.quote_routes, self.trade_routes, self.bar_routes):
                routes.setdefault(sym, [])

    @property
    def symbols(self) -> list[str]:
        return sorted(self.quote_routes)

    def on_market(self, events: Sequence[Any], venue: MarketVenue | None = None) -> None:
        """Route each event to its strategies; only routed symbols are remembered (a
        hostile feed's millions of others must not grow the tables), and a non-finite mid
        is no reference price. With ``venue``, it sees each event first."""
        mids, quotes, trades = self.mids, self.quotes, self.last_trades
        quote_routes, trade_routes = self.quote_routes, self.trade_routes
        guard = self._supervisor.guard
        live = venue.live if venue is not None else None
        for ev in events:
            etype = type(ev)
            if etype is Quote or etype is CryptoQuote:
                sym = ev.symbol
                if live is not None:
                    venue.on_quote(ev)  # type: ignore[union-attr]
                routes = quote_routes.get(sym)
                if routes is not None:
                    quotes[sym] = ev
                    mid = ev.price
                    if 0.0 < mid < _INF:
                        mids[sym] = mid
                    for strategy in routes:
                        try:
                            strategy.on_quote(ev)
                        except Exception as exc:
                            self._supervisor.raised(strategy, "on_quote", exc)
            elif etype is Trade or etype is CryptoTrade:
                sym = ev.symbol
                if live is not None and live.get(sym):
                    venue.on_trade(ev)  # type: ignore[union-attr]
                routes = trade_routes.get(sym)
                if routes is not None:
                    price = ev.price
                    if 0.0 < price < _INF:
                        trades[sym] = price
                    for strategy in routes:
                        guard(strategy.on_trade, ev, strategy)
            elif etype in _BARS:
                for strategy in self.bar_routes.get(ev.symbol, ()):
                    guard(strategy.on_bar, ev, strategy)
