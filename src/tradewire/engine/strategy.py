"""The strategy API: what user code subclasses and calls.

A strategy is plain synchronous Python called inline on the node's event loop: a quote
arrives, ``on_quote`` runs, and ``self.buy(...)`` has written the order request to the
broker's socket by the time it returns. There is nothing to await on the hot path, so
strategies run unchanged live, on paper, against the simulator and on replayed data.

Example::

    class Dip(Strategy):
        def on_quote(self, quote: Quote) -> None:
            if quote.ask_price < self.params.get("below", 100.0) and not self.position(quote.symbol):
                self.buy(quote.symbol, 10, limit_price=quote.ask_price)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from tradewire.engine.symbols import normalize_symbol

if TYPE_CHECKING:
    from tradewire.venues.polygon.messages import Aggregate, Quote, Trade

from tradewire.engine.chain import ChainEntry
from tradewire.engine.multileg import Leg
from tradewire.engine.params import typed_params
from tradewire.engine.ports import StrategyContext, Timer
from tradewire.engine.views import (
    OrderClass,
    OrderEventType,
    OrderHandle,
    OrderType,
    OrderUpdate,
    PositionView,
    Side,
    TimeInForce,
)

__all__ = [
    "OrderClass",
    "OrderEventType",
    "OrderHandle",
    "OrderType",
    "OrderUpdate",
    "PositionView",
    "Side",
    "Strategy",
    "StrategyContext",
    "TimeInForce",
    "Timer",
    "typed_params",
]


class Strategy:
    """Base class for user strategies. Override the ``on_*`` hooks you need.

    Attributes:
        name: Unique name, used in client_order_id tags, logs and metrics.
        symbols: The tickers this strategy receives quotes, trades and bars for.
        params: The parameters from the config file: a dict, or, when the class declares
            ``Params`` (a msgspec Struct or a pydantic model), an instance of it (an unknown
            or invalid key is a config error that names it).
        log: A logger named ``tradewire.strategy.<name>``; do not log on the hot path in
            production, it costs more than the rest of the path together.
    """

    Params: ClassVar[type | None] = None

    def __init__(
        self,
        *,
        symbols: list[str],
        params: Mapping[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        self.name = name or type(self).__name__
        self.symbols = [_normalized(s) for s in symbols]  # aapl is AAPL, btc/usd is BTC/USD
        self.params: Any = typed_params(type(self).Params, dict(params or {}), self.name)
        self.log = logging.getLogger(f"tradewire.strategy.{self.name}")
        self._ctx: StrategyContext | None = None

    # -- lifecycle hooks -------------------------------------------------------------------

    def on_start(self) -> None:
        """Called once after reconciliation, before the first market data event."""

    def on_quote(self, quote: Quote) -> None:
        """Called inline for every NBBO quote of a subscribed symbol."""

    def on_trade(self, trade: Trade) -> None:
        """Called inline for every trade print of a subscribed symbol."""

    def on_bar(self, bar: Aggregate) -> None:
        """Called for second (``A``) and minute (``AM``) aggregates of subscribed symbols."""

    def on_order_update(self, update: OrderUpdate) -> None:
        """Called after the order state machine applied a change to one of this strategy's orders."""

    def on_fill(self, update: OrderUpdate) -> None:
        """Called after ``on_order_update`` for a fill or partial fill of one of this strategy's
        orders (``update.fill_qty`` at ``update.fill_price``)."""

    def on_stop(self) -> None:
        """Called once on shutdown (only when ``on_start`` ran), before open orders are cancelled."""

    # -- actions ---------------------------------------------------------------------------

    def buy(
        self,
        symbol: str,
        qty: float | None = None,
        *,
        notional: float | None = None,
        limit_price: float | None = None,
        stop_price: float | None = None,
        time_in_force: TimeInForce | None = None,
        take_profit: float | None = None,
        stop_loss: float | None = None,
        client_order_id: str | None = None,
    ) -> OrderHandle:
        """Buy ``qty`` units, or ``notional`` dollars' worth (exactly one of the two): market,
        limit (``limit_price``), stop (``stop_price``) or stop-limit (both). ``take_profit``
        (a limit price) and ``stop_loss`` (a stop price) attach exit legs: both make a bracket
        order, one an OTO (Alpaca's order classes). A notional order is a market ``day`` order
        for a stock, a market, limit or stop-limit order for a crypto pair (Alpaca's rules)."""
        return self._simple(
            "buy",
            symbol,
            qty,
            notional,
            limit_price,
            stop_price,
            time_in_force,
            take_profit,
            stop_loss,
            client_order_id,
        )

    def sell(
        self,
        symbol: str,
        qty: float | None = None,
        *,
        notional: float | None = None,
        limit_price: float | None = None,
        stop_price: float | None = None,
        time_in_force: TimeInForce | None = None,
        take_profit: float | None = None,
        stop_loss: float | None = None,
        client_order_id: str | None = None,
    ) -> OrderHandle:
        """Sell ``qty`` units or ``notional`` dollars' worth; the same order kinds as :meth:`buy`."""
        return self._simple(
            "sell",
            symbol,
            qty,
            notional,
            limit_price,
            stop_price,
            time_in_force,
            take_profit,
            stop_loss,
            client_order_id,
        )

    def _simple(
        self,
        side: Side,
        symbol: str,
        qty: float | None,
        notional: float | None,
        limit_price: float | None,
        stop_price: float | None,
        time_in_force: TimeInForce | None,
        take_profit: float | None,
        stop_loss: float | None,
        client_order_id: str | None,
    ) -> OrderHandle:
        if stop_price is None:
            order_type: OrderType = "limit" if limit_price is not None else "market"
        else:
            order_type = "stop_limit" if limit_price is not None else "stop"
        order_class: OrderClass | None = None
        if take_profit is not None or stop_loss is not None:
            order_class = "bracket" if take_profit is not None and stop_loss is not None else "oto"
        return self.submit(
            symbol,
            side,
            qty,
            notional=notional,
            order_type=order_type,
            limit_price=limit_price,
            stop_price=stop_price,
            time_in_force=time_in_force,
            client_order_id=client_order_id,
            order_class=order_class,
            take_profit=None if take_profit is None else {"limit_price": take_profit},
            stop_loss=None if stop_loss is None else {"stop_price": stop_loss},
        )

    def submit(
        self,
        symbol: str,
        side: Side,
        qty: float | None = None,
        *,
        notional: float | None = None,
        order_type: OrderType = "market",
        limit_price: float | None = None,
        stop_price: float | None = None,
        time_in_force: TimeInForce | None = None,
        extended_hours: bool = False,
        client_order_id: str | None = None,
        order_class: OrderClass | None = None,
        take_profit: dict[str, float] | None = None,
        stop_loss: dict[str, float] | None = None,
    ) -> OrderHandle:
        """Check risk, journal the intent and write the order; returns once the bytes are out.

        A risk denial returns a handle with ``denied`` set; it never raises on the hot path.
        ``aapl`` means ``AAPL`` (:mod:`tradewire.engine.symbols`); what is no ticker at all
        goes on as given, for risk or the venue to refuse. ``order_class`` ``oco`` (an exit
        pair: a limit at ``limit_price`` and ``stop_loss``) is only reachable from here.
        ``time_in_force`` ``None`` (the default) chooses for the asset: ``day`` for a stock,
        ``gtc`` for a crypto pair (``BTC/USD``), which refuses ``day``. ``notional`` (dollars)
        instead of ``qty``: exactly one of them, or the order is denied ``invalid``; risk counts
        it at its USD value, its units estimated at the reference price.
        """
        if not symbol.isupper():  # the usual upper-case ticker pays for this test alone
            symbol = _normalized(symbol)
        if time_in_force is None:  # chosen for the asset: crypto refuses day (issue 23)
            time_in_force = "gtc" if "/" in symbol else "day"
        return self._context.submit(
            self,
            symbol,
            side,
            qty,
            order_type=order_type,
            limit_price=limit_price,
            stop_price=stop_price,
            time_in_force=time_in_force,
            extended_hours=extended_hours,
            client_order_id=client_order_id,
            order_class=order_class,
            take_profit=take_profit,
            stop_loss=stop_loss,
            notional=notional,
        )

    def submit_multileg(
        self,
        legs: Sequence[Leg],
        qty: float,
        *,
        order_type: Literal["market", "limit"] = "limit",
        limit_price: float | None = None,
        time_in_force: Literal["day", "gtc"] = "day",
        client_order_id: str | None = None,
    ) -> OrderHandle:
        """One multi-leg options order (Alpaca's ``mleg``): 2–4 :class:`Leg` s of distinct
        contracts, ``qty`` units of the combination, ``market`` or ``limit`` with
        ``limit_price`` the net per share (positive: a debit you pay, negative: a credit you
        receive). Returns one handle (``symbol`` is the legs joined by ``+``); its fills book
        each leg's position. Denied like any order (risk, the options rules, a bad leg)."""
        return self._context.submit_multileg(
            self,
            legs,
            qty,
            order_type=order_type,
            limit_price=limit_price,
            time_in_force=time_in_force,
            client_order_id=client_order_id,
        )

    def subscribe(self, symbols: Sequence[str]) -> None:
        """Receive quotes, trades and bars of ``symbols`` from now on as of the symbols in
        the config (e.g. the option contracts picked from :meth:`option_chain`); live, the
        feed subscribes them on their market. Symbols in any form (``O:SPY…``, ``btc/usd``)."""
        new = [_normalized(s) for s in symbols]
        self.symbols.extend(s for s in new if s not in self.symbols)
        self._context.subscribe(self, new)

    def option_chain(
        self,
        underlying: str,
        *,
        expiry: date | str | None = None,
        type: Literal["call", "put"] | None = None,  # the issue's and users' word
        strikes_near: int | None = None,
    ) -> list[ChainEntry]:
        """The cached option chain of ``underlying`` (Massive's snapshot live; the contracts
        in the data in a backtest), filtered: ``expiry`` a date, ``"nearest"`` or None (all),
        ``type`` call or put, ``strikes_near`` the N strikes nearest the underlying's price.
        Never waits: an underlying not fetched yet answers ``[]`` and is fetched in the
        background (name it in the config's ``options.underlyings`` to have it at start).
        Each :class:`~tradewire.engine.chain.ChainEntry` has the contract's ``symbol`` to
        trade, ``bid``/``ask``/``mid``, ``iv`` and greeks where the source has them."""
        return self._context.option_chain(
            underlying, expiry=expiry, right=type, strikes_near=strikes_near
        )

    def cancel(self, order: OrderHandle | str) -> None:
        """Request cancellation; the outcome arrives as an order update."""
        cid = order if isinstance(order, str) else order.client_order_id
        self._context.cancel(self, cid)

    def cancel_all(self) -> int:
        """Cancel every open order of this strategy; returns how many were asked."""
        return self._context.cancel_all(self)

    def replace(
        self,
        order: OrderHandle | str,
        *,
        qty: float | None = None,
        limit_price: float | None = None,
        stop_price: float | None = None,
    ) -> OrderHandle | None:
        """Replace a working order (new quantity or prices): returns the replacement's handle
        (a new client_order_id; ``replaces`` names the original), or ``None`` when the order
        cannot be replaced now (ended, not acknowledged yet, a cancel or replace pending)."""
        cid = order if isinstance(order, str) else order.client_order_id
        return self._context.replace(
            self, cid, qty=qty, limit_price=limit_price, stop_price=stop_price
        )

    def close_position(self, symbol: str) -> OrderHandle | None:
        """Cancel this strategy's open orders on ``symbol`` and close the account's position
        in it with a market order (``None`` when there is none)."""
        return self._context.close_position(self, symbol)

    def close_all(self) -> list[OrderHandle]:
        """:meth:`close_position` for each of this strategy's symbols."""
        return self._context.close_all(self)

    def position(self, symbol: str) -> PositionView:
        return self._context.position(symbol)

    def open_orders(self) -> list[OrderHandle]:
        return self._context.open_orders(self)

    def last_quote(self, symbol: str) -> Quote | None:
        """The last quote of a subscribed symbol (``None`` before the first)."""
        return self._context.last_quote(symbol)

    def mid(self, symbol: str) -> float | None:
        """The last quote's midpoint (``None`` before the first valid one)."""
        return self._context.mid(symbol)

    @property
    def cash(self) -> Decimal:
        """The account's cash: the broker's at its last read, moved by every fill since."""
        return self._context.cash

    @property
    def equity(self) -> Decimal:
        """Cash plus every position at its mark."""
        return self._context.equity

    @property
    def buying_power(self) -> Decimal:
        """The broker's buying power at its last read, less what fills have spent since."""
        return self._context.buying_power

    @property
    def realized_pnl(self) -> float:
        """What this strategy's own fills have realized (average cost)."""
        return self._context.pnl(self)[0]

    @property
    def unrealized_pnl(self) -> float:
        """This strategy's own open positions at the last mids."""
        return self._context.pnl(self)[1]

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` once after ``delay_s`` seconds; ``.cancel()`` the result to call
        it off. A raising callback counts against the strategy's error budget."""
        return self._context.call_later(self, delay_s, callback)

    def call_every(self, interval_s: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` every ``interval_s`` seconds until cancelled or the strategy stops."""
        return self._context.call_every(self, interval_s, callback)

    def now_ns(self) -> int:
        """Now, in Unix nanoseconds: the wall clock live, the data's time in a backtest."""
        return self._context.now_ns()

    # -- wiring ----------------------------------------------------------------------------

    def bind(self, ctx: StrategyContext) -> None:
        """Attach the strategy to a host (or a test context). Called by the host."""
        self._ctx = ctx

    @property
    def _context(self) -> StrategyContext:
        if self._ctx is None:
            raise RuntimeError(f"strategy {self.name!r} is not attached to a node yet")
        return self._ctx


def _normalized(symbol: str) -> str:
    """The one symbol rule (engine.symbols); what is no symbol at all stays as given."""
    try:
        return normalize_symbol(symbol)
    except (ValueError, AttributeError):
        return symbol
