"""The backtest host: the same strategies, risk, ledger and journal as live, on simulated time.

A strategy cannot tell it is being backtested: it gets the same typed events, its orders go
through the same :class:`~tradewire.engine.risk.RiskEngine` checks, the same request builder
(so an order the venue would refuse is refused here too) and the same
:class:`~tradewire.engine.ledger.Ledger`, which journals every event exactly as ``tradewire
run`` does. What differs is only the host: no sockets, and a clock that jumps from event to
event. Everything that happens later than "now" (an order reaching the broker, its reports
coming back, a strategy's timer) waits in one heap ordered by (time, sequence), so equal
times resolve in the order they were scheduled and a rerun is identical.
"""

from __future__ import annotations

import heapq
import logging
import random
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import msgspec

from tradewire.backtest.broker import BacktestBroker
from tradewire.backtest.latency import LatencyModel
from tradewire.engine import orders as o
from tradewire.engine.config import RiskConfig
from tradewire.engine.ids import ClientOrderIds
from tradewire.engine.journal.store import Journal
from tradewire.engine.ledger import Ledger
from tradewire.engine.positions import PositionBook
from tradewire.engine.risk import APPROVED, RiskEngine
from tradewire.engine.strategy import OrderHandle, OrderUpdate, PositionView, Strategy
from tradewire.engine.translate import UPDATE_NAMES, event_from_trade_update
from tradewire.sim.broker.orders import Execution, OrderError
from tradewire.venues.alpaca.errors import OrderValidationError
from tradewire.venues.alpaca.requests import build_order
from tradewire.venues.polygon.messages import Aggregate, MinuteAggregate, Quote, Trade

log = logging.getLogger("tradewire.backtest")
_INF = float("inf")


class BacktestNode:
    """Implements ``StrategyContext`` for a backtest; :meth:`run` drives it."""

    def __init__(
        self,
        strategies: list[Strategy],
        *,
        journal: Journal,
        broker: BacktestBroker,
        latency: LatencyModel,
        risk_config: RiskConfig | None = None,
        seed: int = 0,
        starting_cash: float = 100_000.0,
        sample_s: float = 1.0,
    ) -> None:
        self.strategies = strategies
        self.now = 0
        journal.clock = self.now_ns
        self.journal = journal
        self.broker = broker
        self.latency = latency
        self._rng = random.Random(seed)
        self.risk = RiskEngine(risk_config or RiskConfig())
        self.oms = o.OrderManager()
        self.book = PositionBook()
        self.ledger = Ledger(self.oms, self.book, journal, on_applied=self._on_applied)
        self.ids = ClientOrderIds(prefix=f"bt-{seed}-")
        self.cash = Decimal(str(starting_cash))
        self.mids: dict[str, float] = {}
        self.handles: dict[str, OrderHandle] = {}
        self._owner: dict[str, Strategy] = {}
        self._broker_ids: dict[str, str] = {}
        self._heap: list[tuple[int, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = 0
        self._quote_routes: dict[str, list[Strategy]] = {}
        self._trade_routes: dict[str, list[Strategy]] = {}
        self._bar_routes: dict[str, list[Strategy]] = {}
        self.events = self.batches = self.orders = self.denied = 0
        self.canceled = self.rejected = self.strategy_errors = 0
        self.fills: list[tuple[int, str, str, str, float, float]] = []
        # (time, realized, unrealized, {symbol: position}) every sample_s of simulated time
        self.equity: list[tuple[int, float, float, dict[str, float]]] = []
        self._sample_ns = max(int(sample_s * 1e9), 1)
        self._next_sample = 0
        self._ending = False
        self.first_ns = self.last_ns = 0
        self._zero = latency.zero

    # -- the loop ------------------------------------------------------------------------

    def run(self, batches: Iterable[tuple[int, list[Any]]]) -> None:
        for strategy in self.strategies:
            strategy.bind(self)
            for sym in strategy.symbols:
                for routes in (self._quote_routes, self._trade_routes, self._bar_routes):
                    routes.setdefault(sym, []).append(strategy)
        started = False
        feed_latency = self.latency.feed
        rng = self._rng
        heap = self._heap
        for ts, events in batches:
            if not started:
                started = True
                self.now = self.first_ns = ts
                self._next_sample = ts + self._sample_ns
                for strategy in self.strategies:
                    strategy.on_start()
            if heap and heap[0][0] <= ts:
                self._run_until(ts)
            if ts >= self._next_sample:
                self._sample(ts)
            self.now = ts
            self.batches += 1
            self.events += len(events)
            if self._zero:
                self._both(events)
            else:
                self._to_broker(events)
                self._schedule(ts + feed_latency.sample(rng), self._deliver, events)
        self.last_ns = self.now
        self._run_until(self.now)
        # The data has ended: reports already on their way still arrive, timers do not fire.
        self._ending = True
        self._run_until(_INF)
        for strategy in self.strategies:
            self._guard(_call, strategy.on_stop, strategy)
        self._sample(self.now)

    def _sample(self, ts: int) -> None:
        book = self.book
        for sym, mid in self.mids.items():
            book.mark(sym, mid)
        positions = {sym: p.qty for sym, p in sorted(book.positions.items()) if p.qty}
        self.equity.append((ts, book.realized, book.unrealized, positions))
        step = self._sample_ns
        self._next_sample = ts - (ts - self.first_ns) % step + step

    def _run_until(self, until: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= until:
            at, _, fn, args = heapq.heappop(heap)
            self.now = max(self.now, at)
            fn(*args)

    def _schedule(self, at: int, fn: Callable[..., None], *args: Any) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, fn, args))

    def _to_broker(self, events: list[Any]) -> None:
        # The broker sees the market first, as the simulator's feed updates its book before
        # it writes the frame.
        broker = self.broker
        live = broker.book.live_by_symbol
        for ev in events:
            etype = type(ev)
            if etype is Quote:
                mid = ev.price
                if 0.0 < mid < _INF:
                    self.mids[ev.symbol] = mid
                if live.get(ev.symbol):
                    self._report(broker.quote(ev))
                else:
                    broker.last_quotes[ev.symbol] = ev
            elif etype is Trade and live.get(ev.symbol):
                self._report(broker.trade(ev))

    def _both(self, events: list[Any]) -> None:
        """Zero feed latency: per event, the broker's book first, then the strategies.

        The backtest's hot loop, so one pass and no helper call per event: with a no-op
        strategy, 1.34 M -> 1.74 M events/s (medians of 4 alternating runs, 300k quotes;
        docs/performance.md).
        """
        broker = self.broker
        live = broker.book.live_by_symbol
        last_quotes = broker.last_quotes
        mids = self.mids
        quote_routes, trade_routes = self._quote_routes, self._trade_routes
        for ev in events:
            etype = type(ev)
            if etype is Quote:
                sym = ev.symbol
                mid = ev.price
                if 0.0 < mid < _INF:
                    mids[sym] = mid
                if live.get(sym):
                    self._report(broker.quote(ev))
                else:
                    last_quotes[sym] = ev
                for strategy in quote_routes.get(sym, ()):
                    try:
                        strategy.on_quote(ev)
                    except Exception:
                        self._raised(strategy)
            elif etype is Trade:
                sym = ev.symbol
                if live.get(sym):
                    self._report(broker.trade(ev))
                for strategy in trade_routes.get(sym, ()):
                    try:
                        strategy.on_trade(ev)
                    except Exception:
                        self._raised(strategy)
            elif etype is Aggregate or etype is MinuteAggregate:
                for strategy in self._bar_routes.get(ev.symbol, ()):
                    try:
                        strategy.on_bar(ev)
                    except Exception:
                        self._raised(strategy)

    def _raised(self, strategy: Strategy) -> None:
        self.strategy_errors += 1
        if self.strategy_errors == 1:
            log.exception("strategy %s raised; later errors are only counted", strategy.name)

    def _deliver(self, events: list[Any]) -> None:
        for ev in events:
            etype = type(ev)
            if etype is Quote:
                routes = self._quote_routes.get(ev.symbol)
                for strategy in routes or ():
                    self._guard(strategy.on_quote, ev, strategy)
            elif etype is Trade:
                routes = self._trade_routes.get(ev.symbol)
                for strategy in routes or ():
                    self._guard(strategy.on_trade, ev, strategy)
            elif etype is Aggregate or etype is MinuteAggregate:
                routes = self._bar_routes.get(ev.symbol)
                for strategy in routes or ():
                    self._guard(strategy.on_bar, ev, strategy)

    def _guard(self, fn: Callable[[Any], None], arg: Any, strategy: Strategy) -> None:
        try:
            fn(arg)
        except Exception:
            self._raised(strategy)

    # -- orders: strategy -> broker ------------------------------------------------------

    def submit(
        self,
        strategy: Strategy,
        symbol: str,
        side: str,
        qty: float,
        *,
        order_type: str,
        limit_price: float | None,
        stop_price: float | None,
        time_in_force: str,
        extended_hours: bool,
        client_order_id: str | None,
    ) -> OrderHandle:
        cid = client_order_id or self.ids.next()
        handle = OrderHandle(cid, symbol, side, qty, order_type, limit_price)  # type: ignore[arg-type]
        ref = self.mids.get(symbol)
        book, oms = self.book, self.oms
        verdict = self.risk.check(
            symbol=symbol,
            side=side,
            qty=qty,
            price=limit_price,
            mid=ref,
            position=book.qty(symbol),
            open_orders=oms.open_count,
            gross_exposure=book.gross_exposure,
            daily_pnl=book.daily_pnl,
            now_ns=self.now,
            working=oms.working.get(symbol),
            working_notional=oms.working_notional,
        )
        if verdict is not APPROVED:
            return self._deny(handle, strategy, str(verdict))
        try:
            request = build_order(
                symbol=symbol,
                side=side,
                order_type=order_type,
                time_in_force=time_in_force,
                qty=qty,
                limit_price=limit_price,
                stop_price=stop_price,
                extended_hours=extended_hours,
                client_order_id=cid,
            )
        except OrderValidationError as exc:
            return self._deny(handle, strategy, f"invalid: {exc}")
        assert ref is not None
        self.ledger.create_intent(
            o.Order(
                cid,
                symbol,
                side,
                qty,
                order_type,
                limit_price,
                strategy=strategy.name,
                ref_price=limit_price if limit_price is not None and limit_price > ref else ref,
            ),
            time_in_force,
        )
        self.handles[cid] = handle
        self._owner[cid] = strategy
        self.orders += 1
        self.ledger.apply(cid, o.Sent())
        body = msgspec.to_builtins(request)
        self._schedule(self.now + self.latency.order.sample(self._rng), self._arrive, cid, body)
        return handle

    def _deny(self, handle: OrderHandle, strategy: Strategy, why: str) -> OrderHandle:
        handle.denied = why
        handle.status = "denied"
        self.denied += 1
        self.journal.append(
            "denied",
            handle.client_order_id,
            {"why": why, "strategy": strategy.name, "symbol": handle.symbol},
        )
        return handle

    def _arrive(self, cid: str, body: dict[str, object]) -> None:
        back = self.now + self.latency.report.sample(self._rng)
        try:
            order, execs = self.broker.submit(body)
        except OrderError as exc:
            self._schedule(back, self._apply, cid, o.Rejected(exc.message))
            return
        self._broker_ids[cid] = order.id
        self._schedule(back, self._apply, cid, o.Accepted(order.id))
        self._report(execs, at=back)

    def cancel(self, strategy: Strategy, client_order_id: str) -> None:
        order = self.oms.get(client_order_id)
        if order is None or not order.is_open or order.status is o.OrderStatus.PENDING_CANCEL:
            return
        self.ledger.apply(client_order_id, o.CancelRequested())
        at = self.now + self.latency.order.sample(self._rng)
        self._schedule(at, self._cancel_at_broker, client_order_id)

    def _cancel_at_broker(self, cid: str) -> None:
        broker_id = self._broker_ids.get(cid)
        if broker_id is None:
            return  # rejected on arrival: its report is on the way
        try:
            execs = self.broker.cancel(broker_id)
        except OrderError:
            return  # filled first: the fill report tells the engine
        self._report(execs)

    # -- reports: broker -> engine ---------------------------------------------------------

    def _report(self, execs: list[Execution], *, at: int | None = None) -> None:
        if not execs:
            return
        when = at if at is not None else self.now + self.latency.report.sample(self._rng)
        for ex in execs:
            event = event_from_trade_update(
                ex.event,
                execution_id=ex.execution_id,
                qty=float(ex.qty) if ex.qty is not None else None,
                price=float(ex.price) if ex.price is not None else None,
                broker_id=ex.order.id,
                cumulative_filled=float(ex.filled_qty),
                cumulative_avg=(
                    float(ex.filled_avg_price) if ex.filled_avg_price is not None else None
                ),
            )
            if event is not None:
                self._schedule(when, self._apply, ex.order.client_order_id, event)

    def _apply(self, cid: str, event: o.OrderEvent) -> None:
        self.ledger.apply(cid, event)

    def _on_applied(self, event: o.OrderEvent, applied: o.Applied, kind: str) -> None:
        order = applied.order
        cid = order.client_order_id
        if applied.fill_qty:
            self.fills.append(
                (self.now, cid, order.symbol, order.side, applied.fill_qty, applied.fill_price)
            )
        if isinstance(event, o.Canceled):
            self.canceled += 1
        elif isinstance(event, o.Rejected):
            self.rejected += 1
        handle = self.handles.get(cid)
        strategy = self._owner.get(cid)
        if handle is None or strategy is None:
            return
        handle.status = order.status.value
        handle.filled_qty = order.filled_qty
        handle.filled_avg_price = order.avg_fill_price or None
        handle.broker_order_id = order.broker_id or None
        if isinstance(event, o.Rejected):
            handle.reject_reason = event.reason
        update = OrderUpdate(
            UPDATE_NAMES.get(kind, kind),
            handle,
            applied.fill_qty,
            applied.fill_price or None,
            self.book.qty(order.symbol) if applied.fill_qty else None,
        )
        self._guard(strategy.on_order_update, update, strategy)

    # -- the rest of StrategyContext -------------------------------------------------------

    def position(self, symbol: str) -> PositionView:
        pos = self.book.positions.get(symbol)
        if pos is None:
            return PositionView(symbol)
        return PositionView(symbol, pos.qty, pos.avg_price, pos.realized, pos.unrealized)

    def open_orders(self, strategy: Strategy) -> list[OrderHandle]:
        return [
            h for cid, h in self.handles.items() if h.is_open and self._owner.get(cid) is strategy
        ]

    def call_later(self, strategy: Strategy, delay_s: float, callback: Callable[[], None]) -> None:
        self._schedule(self.now + int(delay_s * 1e9), self._timer, strategy, callback)

    def call_every(
        self, strategy: Strategy, interval_s: float, callback: Callable[[], None]
    ) -> None:
        step = max(int(interval_s * 1e9), 1)

        def tick() -> None:
            if self._ending:
                return
            self._timer(strategy, callback)
            self._schedule(self.now + step, tick)

        self._schedule(self.now + step, tick)

    def _timer(self, strategy: Strategy, callback: Callable[[], None]) -> None:
        if not self._ending:
            self._guard(_call, callback, strategy)

    def now_ns(self) -> int:
        return self.now


def _call(fn: Callable[[], None]) -> None:
    fn()
