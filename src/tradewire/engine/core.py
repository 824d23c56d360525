"""The engine core: the one strategy context of every host.

DESIGN.md promises one engine core and four ways to run it; before this module the strategy
context was written three times (the inline node, the backtest, the worker) and the copies
had drifted where users saw it: a backtest's ``call_later`` returned ``None``, a worker's
``cash`` was always 0, a worker printed a traceback per exception and never forgot an ended
order. Here is the one copy: market routing and dispatch, the submit pipeline (reference
price → risk → venue request → intent → write), denials, ledger change → ``OrderUpdate``,
handles and owners with eviction, mids and last quotes and trades, the strategies' error
budgets and timers (:mod:`~tradewire.engine.supervisor`, :mod:`~tradewire.engine.timers`)
and the account's money (:mod:`~tradewire.engine.account`).

A host gives it a clock and a port (:mod:`~tradewire.engine.ports`) and feeds it market
events (:meth:`EngineCore.on_market`) and order facts (through the :class:`Ledger`, whose
hooks are the core's). With a ledger the core is *local*: it checks risk and journals the
intent before the port writes the order (inline node, backtest). Without one it is *remote*
(a worker): the port publishes the order as an intent to a gateway, which checks the
whole account's risk, and the gateway's updates come back through :mod:`~tradewire.engine.remote`.

The hot path is one call stack: :meth:`submit` is the code that sat in the inline node, and
the bench's ``callback_to_order_written`` stage measures it.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING

from tradewire.engine import actions, ledger_hooks
from tradewire.engine import orders as o
from tradewire.engine.account import Account, money
from tradewire.engine.chain import ChainBook, ChainEntry, Right
from tradewire.engine.denials import FirstDenials
from tradewire.engine.events import Denied
from tradewire.engine.multileg import Leg
from tradewire.engine.multileg_submit import submit_multileg
from tradewire.engine.native_submit import NativeOrders
from tradewire.engine.options import MIN_OCC_LEN, OCC, multiplier_of
from tradewire.engine.ports import CoreCounters, Counters
from tradewire.engine.remote import RemoteOrders
from tradewire.engine.risk import APPROVED
from tradewire.engine.routing import MarketRouter
from tradewire.engine.session import session_day
from tradewire.engine.strategy import (
    OrderEventType,
    OrderHandle,
    OrderUpdate,
    PositionView,
    Strategy,
)
from tradewire.engine.supervisor import Supervisor
from tradewire.engine.timers import Timer, TimerBook

if TYPE_CHECKING:
    from tradewire.engine.ids import ClientOrderIds
    from tradewire.engine.ledger import Ledger
    from tradewire.engine.ports import Clock, VenuePort
    from tradewire.engine.risk import RiskEngine
    from tradewire.venues.polygon.messages import Quote

log = logging.getLogger("tradewire.engine")
_perf = time.perf_counter_ns
_INF = float("inf")


AppliedObserver = Callable[[o.OrderEvent, o.Applied], None]


class EngineCore:
    """Implements ``StrategyContext`` once, for every host."""

    def __init__(
        self,
        strategies: Sequence[Strategy],
        *,
        clock: Clock,
        port: VenuePort,
        ids: ClientOrderIds,
        ledger: Ledger | None = None,
        risk: RiskEngine | None = None,
        counters: Counters | None = None,
        account: Account | None = None,
        max_errors: int = 20,
        error_window_s: float = 60.0,
        trade_reference: bool = False,
        keep_ended: int = 10_000,
    ) -> None:
        self.strategies = list(strategies)
        self.clock = clock
        self.port = port
        self.ids = ids
        self.ledger = ledger
        self.risk = risk
        self.local = ledger is not None
        if ledger is not None and risk is None:
            raise ValueError("a local core (with a ledger) needs a risk engine")
        self.counters: Counters = counters if counters is not None else CoreCounters()
        self.account = account or Account()
        self.supervisor = Supervisor(self, max_errors=max_errors, window_s=error_window_s)
        self.health = self.supervisor.health
        self.timers = TimerBook(clock, self.supervisor.run_timer)
        self.trade_reference = trade_reference
        self.keep_ended = keep_ended
        self.market = MarketRouter(self.supervisor)
        self.on_market = self.market.on_market  # the hot loop, called with no extra frame
        self.mids = self.market.mids
        self.last_trades = self.market.last_trades
        self.handles: dict[str, OrderHandle] = {}
        self.owner: dict[str, Strategy] = {}
        self.remote = RemoteOrders(self)  # a worker's: what its gateway reports
        self.halted: str | None = None  # remote: the gateway's halt
        self.observer: AppliedObserver | None = None  # a host's view of every change
        self.first_denials = FirstDenials()  # the first of each rule, per strategy, is logged
        self._ended: deque[str] = deque()
        self.cancel_after_ack: set[str] = set()
        # Option chains (engine/chain.py): a live host gives it its snapshot fetcher.
        self.chains = ChainBook()
        # A host's hook to stream symbols a strategy subscribed to after start (live: the
        # node subscribes its feeds; a backtest's data holds them already).
        self.on_subscribe: Callable[[list[str]], None] | None = None
        # The native order path: a live host attaches it (engine/native_submit.py, attach).
        self.native: NativeOrders | None = None
        if ledger is not None:
            ledger.on_applied = partial(ledger_hooks.on_applied, self)
            ledger.on_linked = partial(ledger_hooks.on_linked, self)
            ledger.on_fee = partial(ledger_hooks.on_fee, self)
            ledger.on_settled = partial(ledger_hooks.on_settled, self)
        for strategy in self.strategies:
            self.supervisor.watch(strategy)

    def __repr__(self) -> str:
        mode = "local" if self.local else "remote"
        return f"EngineCore({mode}, strategies={[s.name for s in self.strategies]})"

    # -- lifecycle -------------------------------------------------------------------------

    def add(self, strategy: Strategy, *, max_errors: int | None = None) -> None:
        """A strategy the core serves without routing market data to it (a gateway's
        proxy for a worker): its orders, updates and health are the core's."""
        self.supervisor.watch(strategy, max_errors)
        strategy.bind(self)

    def start(self) -> None:
        """Bind and route every strategy, then ``on_start`` each, in order.

        An ``on_start`` that raises is a :class:`StrategyError` in every host; the strategies
        started before it get their ``on_stop`` at :meth:`stop`, the one that failed does not.
        """
        for strategy in self.strategies:
            strategy.bind(self)
            self.market.route(strategy)
        self.supervisor.start(self.strategies)

    def stop(self, why: str) -> None:
        """``on_stop`` for the strategies that started, timers end, later orders are denied."""
        self.supervisor.retire(self.strategies, why)
        self.supervisor.report(final=True)

    # -- orders: strategy -> venue (hot path) ----------------------------------------------

    def submit(
        self,
        strategy: Strategy,
        symbol: str,
        side: str,
        qty: float | None,
        *,
        order_type: str,
        limit_price: float | None,
        stop_price: float | None,
        time_in_force: str,
        extended_hours: bool,
        client_order_id: str | None,
        order_class: str | None = None,
        take_profit: dict[str, float] | None = None,
        stop_loss: dict[str, float] | None = None,
        notional: float | None = None,
    ) -> OrderHandle:
        """``qty`` units or ``notional`` dollars (then the order's ``qty`` is 0, as in
        :class:`~tradewire.engine.orders.Order`): exactly one, or it is denied ``invalid``."""
        t0 = _perf()
        cid = client_order_id or self.ids.next()
        both = False
        if notional is not None or qty is None:  # sized in dollars (or not sized at all)
            both = (qty is None) == (notional is None)
            qty = 0.0
        handle = OrderHandle(cid, symbol, side, qty, order_type, limit_price, stop_price=stop_price)  # type: ignore[arg-type]
        if notional is not None:
            handle.notional = notional
        if both:
            why = "invalid: give exactly one of qty and notional"
            return self.deny(handle, strategy, why, "invalid")
        native = self.native
        if (
            native is not None
            and notional is None
            and stop_price is None
            and order_class is None
            and take_profit is None
            and stop_loss is None
            and len(symbol) < MIN_OCC_LEN  # not an option
            and "/" not in symbol  # not a crypto pair
        ):
            sent = native.submit(
                self, strategy, handle, qty, limit_price, time_in_force, extended_hours, t0
            )
            if sent is not None:
                return sent
        ledger = self.ledger
        ref: float | None = None
        held: float | None = None  # unknown without a ledger (a worker: its gateway knows)
        if ledger is not None:
            ref = self.mids.get(symbol)
            if ref is None and self.trade_reference:
                ref = self.last_trades.get(symbol)
            book, oms = ledger.book, ledger.oms
            held = book.qty(symbol)
            verdict = self.risk.check(  # type: ignore[union-attr]
                symbol=symbol,
                side=side,
                qty=qty,
                price=limit_price,
                mid=ref,
                position=held,
                open_orders=oms.open_count,
                gross_exposure=book.gross_exposure,
                daily_pnl=book.daily_pnl,
                now_ns=self.clock.monotonic_ns(),
                working=oms.working.get(symbol),
                working_notional=oms.working_notional,
                notional=notional or 0.0,
            )
            if verdict is APPROVED and len(symbol) >= MIN_OCC_LEN and OCC.fullmatch(symbol):
                verdict = self.risk.check_options(  # type: ignore[union-attr]
                    legs=(Leg(symbol, 1, side),),
                    qty=qty,
                    limit_price=limit_price,
                    mids=self.mids,
                    position=book.qty,
                    working=oms.working_qty,
                    level=self.account.options_level,
                    day=session_day(self.clock.time_ns()),
                )
            if verdict is not APPROVED:
                reason = getattr(verdict, "reason", None)
                return self.deny(handle, strategy, str(verdict), reason.value if reason else "risk")
        elif self.halted is not None:
            return self.deny(handle, strategy, f"halted: {self.halted}", "halted")
        try:
            request = self.port.build(
                symbol=symbol,
                side=side,
                order_type=order_type,
                time_in_force=time_in_force,
                qty=None if notional is not None else qty,
                limit_price=limit_price,
                stop_price=stop_price,
                extended_hours=extended_hours,
                client_order_id=cid,
                order_class=order_class,
                take_profit=take_profit,
                stop_loss=stop_loss,
                held=held,
                notional=notional,
            )
        except ValueError as exc:
            return self.deny(handle, strategy, f"invalid: {exc}", "invalid")
        if ledger is not None:
            assert ref is not None  # risk denies an order with no reference price
            ledger.create_intent(
                o.Order(
                    cid,
                    symbol,
                    side,
                    qty,
                    order_type,
                    limit_price,
                    strategy=strategy.name,
                    ref_price=limit_price if limit_price is not None and limit_price > ref else ref,
                    notional=notional or 0.0,
                ),
                time_in_force,
            )
        self.handles[cid] = handle
        self.owner[cid] = strategy
        self.port.send(cid, request, t0)  # the bytes leave here
        # -- after the write --
        self.counters.orders_sent += 1
        return handle

    def submit_multileg(
        self,
        strategy: Strategy,
        legs: Sequence[Leg],
        qty: float,
        *,
        order_type: str,
        limit_price: float | None,
        time_in_force: str,
        client_order_id: str | None,
    ) -> OrderHandle:
        """One multi-leg options order (:mod:`tradewire.engine.multileg_submit`)."""
        return submit_multileg(
            self,
            strategy,
            legs,
            qty,
            order_type=order_type,
            limit_price=limit_price,
            time_in_force=time_in_force,
            client_order_id=client_order_id,
        )

    def deny(self, handle: OrderHandle, strategy: Strategy, why: str, rule: str) -> OrderHandle:
        handle.denied = why
        handle.status = "denied"
        counters = self.counters
        counters.orders_denied += 1
        counters.denials_by_reason[rule] = counters.denials_by_reason.get(rule, 0) + 1
        self.first_denials.note(strategy.name, rule, why, handle.side, handle.qty, handle.symbol)
        if self.ledger is not None:  # journaled as the event it is, and replayed
            self.ledger.record(
                Denied(handle.client_order_id, strategy.name, handle.symbol, why, rule)
            )
        return handle

    def cancel(self, strategy: Strategy, client_order_id: str) -> None:
        ledger = self.ledger
        if ledger is None:
            handle = self.handles.get(client_order_id)
            if handle is not None and handle.is_open:
                self.port.cancel(client_order_id, handle.broker_order_id or "")
            return
        order = ledger.oms.get(client_order_id)
        if order is None or not order.is_open or order.status is o.OrderStatus.PENDING_CANCEL:
            return
        if not order.broker_id:
            self.cancel_after_ack.add(client_order_id)  # no venue id yet: cancel once acked
            return
        ledger.apply(client_order_id, o.CancelRequested())
        self.port.cancel(client_order_id, order.broker_id)

    def cancel_all(self, strategy: Strategy) -> int:
        """Cancel every open order of ``strategy``; returns how many were asked."""
        handles = self.open_orders(strategy)
        for handle in handles:
            self.cancel(strategy, handle.client_order_id)
        return len(handles)

    def replace(
        self,
        strategy: Strategy,
        client_order_id: str,
        *,
        qty: float | None = None,
        limit_price: float | None = None,
        stop_price: float | None = None,
        new_client_order_id: str | None = None,
    ) -> OrderHandle | None:
        return actions.replace(
            self,
            strategy,
            client_order_id,
            qty=qty,
            limit_price=limit_price,
            stop_price=stop_price,
            new_client_order_id=new_client_order_id,
        )

    def replace_refused(self, new_cid: str, reason: str) -> None:
        actions.replace_refused(self, new_cid, reason)

    def close_position(self, strategy: Strategy, symbol: str) -> OrderHandle | None:
        return actions.close_position(self, strategy, symbol)

    def close_all(self, strategy: Strategy) -> list[OrderHandle]:
        return actions.close_all(self, strategy)

    # -- order facts -> strategies (after the write) ---------------------------------------

    def tell(
        self,
        strategy: Strategy,
        handle: OrderHandle,
        event: str,
        fill_qty: float,
        fill_price: float | None,
        position_qty: float | None,
    ) -> None:
        update = OrderUpdate(_event(event), handle, fill_qty, fill_price or None, position_qty)
        guard = self.supervisor.guard
        guard(strategy.on_order_update, update, strategy)
        if fill_qty:
            guard(strategy.on_fill, update, strategy)
        if not handle.is_open:
            self._ended.append(handle.client_order_id)
            if len(self._ended) > self.keep_ended:
                self.forget((self._ended.popleft(),))

    def forget(self, cids: Sequence[str]) -> None:
        """Ended orders the host evicted: their handles go too (memory stays bounded)."""
        for cid in cids:
            handle = self.handles.get(cid)
            if handle is not None and handle.is_open:
                continue
            self.handles.pop(cid, None)
            self.owner.pop(cid, None)

    # -- the rest of StrategyContext -------------------------------------------------------

    def position(self, symbol: str) -> PositionView:
        if self.ledger is None:
            view = self.remote.positions.get(symbol)
            return PositionView(symbol) if view is None else view
        pos = self.ledger.book.positions.get(symbol)
        if pos is None:
            return PositionView(symbol)
        mark = self.mids.get(symbol)
        unrealized = (
            (mark - pos.avg_price) * pos.qty * pos.multiplier
            if mark is not None and pos.qty
            else pos.unrealized
        )
        return PositionView(symbol, pos.qty, pos.avg_price, pos.realized, unrealized)

    def open_orders(self, strategy: Strategy) -> list[OrderHandle]:
        owner = self.owner
        return [h for cid, h in self.handles.items() if h.is_open and owner.get(cid) is strategy]

    def call_later(self, strategy: Strategy, delay_s: float, callback: Callable[[], None]) -> Timer:
        return self.timers.later(strategy.name, delay_s, callback)

    def call_every(
        self, strategy: Strategy, interval_s: float, callback: Callable[[], None]
    ) -> Timer:
        return self.timers.every(strategy.name, interval_s, callback)

    def now_ns(self) -> int:
        return self.clock.time_ns()

    def last_quote(self, symbol: str) -> Quote | None:
        return self.market.quotes.get(symbol)

    def mid(self, symbol: str) -> float | None:
        return self.mids.get(symbol)

    def subscribe(self, strategy: Strategy, symbols: Sequence[str]) -> None:
        """Route ``symbols`` to ``strategy`` from now on, and have the host stream them."""
        new = [s for s in symbols if strategy not in self.market.quote_routes.get(s, ())]
        if not new:
            return
        self.market.route(strategy, new)
        if self.on_subscribe is not None:
            self.on_subscribe(new)

    def option_chain(
        self,
        underlying: str,
        *,
        expiry: date | str | None = None,
        right: Right | None = None,
        strikes_near: int | None = None,
    ) -> list[ChainEntry]:
        key = underlying.strip().upper()
        spot = self.mids.get(key)
        if spot is None:
            spot = self.last_trades.get(key)
        return self.chains.query(
            key, expiry=expiry, right=right, strikes_near=strikes_near, spot=spot
        )

    @property
    def cash(self) -> Decimal:
        return money(self.account.cash)

    @property
    def buying_power(self) -> Decimal:
        return money(self.account.buying_power)

    @property
    def equity(self) -> Decimal:
        if self.ledger is None:
            value = self.account.cash + sum(
                p.qty * self.mids.get(s, p.avg_entry_price) * multiplier_of(s)
                for s, p in self.remote.positions.items()
            )
            return money(value)
        return money(self.account.equity(self.ledger.book, self.mids))

    def pnl(self, strategy: Strategy) -> tuple[float, float]:
        return self.account.pnl(strategy.name, self.mids)


def _event(name: str) -> str:
    try:
        return OrderEventType(name)
    except ValueError:
        return name  # a kind this build has no name for: passed on as the venue said it
