"""What happens to an order after its bytes left: every answer becomes engine events.

The node's REST replies, trade updates, stream gaps and cancels, each translated once
(:mod:`tradewire.engine.translate`) and applied by the ledger, the one outcome path. Kept
apart from the node's hot path; :class:`TradingNode` inherits these handlers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from tradewire.engine import orders as o
from tradewire.engine.strategy import OrderHandle, OrderUpdate
from tradewire.engine.translate import (
    RECONCILE_EVENTS,
    UPDATE_NAMES,
    event_from_trade_update,
    events_from_fact,
)
from tradewire.errors import (
    OrderNotSent,
    OrderOutcomeUnknown,
    OrderRejected,
    RetryableBrokerError,
    TradewireError,
)
from tradewire.venues.alpaca.messages import Order as BrokerOrder
from tradewire.venues.alpaca.messages import TradeUpdate
from tradewire.venues.alpaca.reports import fact_from
from tradewire.venues.alpaca.submission import SubmissionStep

if TYPE_CHECKING:
    from tradewire.engine.journal.store import Journal
    from tradewire.engine.ledger import Ledger
    from tradewire.engine.positions import PositionBook
    from tradewire.engine.risk import RiskEngine
    from tradewire.engine.strategy import Strategy
    from tradewire.live.reconciler import Reconciler
    from tradewire.metrics.recorder import Counters, Recorder
    from tradewire.venues.alpaca.client import AlpacaClient
    from tradewire.venues.alpaca.stream import TradeStream

log = logging.getLogger("tradewire.live.node")
_perf = time.perf_counter_ns


class OrderOutcomes:
    """The node's order handlers (a mixin: they read and change the node's state)."""

    # What the handlers use of the node; TradingNode sets every one of them.
    oms: o.OrderManager
    ledger: Ledger
    book: PositionBook
    risk: RiskEngine
    reconciler: Reconciler
    recorder: Recorder
    broker: AlpacaClient
    stream: TradeStream
    handles: dict[str, OrderHandle]
    finish_timeout_s: float
    counters: Counters
    journal: Journal
    _owner: dict[str, Strategy]
    mids: dict[str, float]
    _cancel_after_ack: set[str]
    _settling: set[str]
    _tasks: set[asyncio.Future[Any]]

    if TYPE_CHECKING:  # provided by TradingNode; declared here for the type checker

        def _spawn(self, coro: Any) -> None: ...

        def _guard(self, fn: Any, arg: Any, strategy: Strategy) -> None: ...

        def _schedule_sync(self) -> None: ...

    def cancel(self, strategy: Strategy, client_order_id: str) -> None:
        order = self.oms.get(client_order_id)
        if order is None or not order.is_open or order.status is o.OrderStatus.PENDING_CANCEL:
            return
        if not order.broker_id:
            self._cancel_after_ack.add(client_order_id)  # no venue id yet: cancel once acked
            return
        self.ledger.apply(client_order_id, o.CancelRequested())
        self._spawn(self._cancel(order.broker_id, client_order_id))

    async def _cancel(self, broker_id: str, cid: str) -> None:
        # A cancel that meets a 5xx or 429 is retried (Retry-After honoured) within a bound;
        # a definitive refusal (404, 422 "not cancelable": it filled or ended first) or the
        # bound running out hands the order to reconciliation, which learns how it ended.
        delay = 0.1
        deadline = time.monotonic() + self.finish_timeout_s
        while True:
            try:
                await self.broker.cancel_order(broker_id)
                self.counters.cancels += 1
                return
            except RetryableBrokerError as exc:
                wait = exc.retry_after or delay
                if time.monotonic() + wait > deadline:
                    log.error("cancel of %s failed until the deadline: %s", cid, exc)
                    break
                log.warning("cancel of %s failed (%s); retrying in %.2fs", cid, exc, wait)
                await asyncio.sleep(wait)
                delay = min(delay * 2, 2.0)
            except TradewireError as exc:
                log.info("cancel of %s refused: %s; reconciling", cid, exc)
                break
        self.reconciler.request(f"cancel of {cid} not confirmed")

    def _on_client_event(self, step: SubmissionStep, cid: str, detail: object) -> None:
        # The client's steps of one submission, turned into engine events.
        if cid not in self.oms.orders:
            return
        ledger = self.ledger
        if step == SubmissionStep.WRITTEN:
            ledger.apply(cid, o.Sent())
        elif step in (SubmissionStep.ACKED, SubmissionStep.RESOLVED) and isinstance(
            detail, BrokerOrder
        ):
            self.counters.orders_acked += 1
            ledger.apply_all(cid, events_from_fact(fact_from(detail)))
            if cid in self._cancel_after_ack:
                self._cancel_after_ack.discard(cid)
                self.cancel(self._owner[cid], cid)
        elif step == SubmissionStep.REJECTED:
            self.counters.orders_rejected += 1
            ledger.apply(cid, o.Rejected(str(detail)))
            if self.risk.on_reject(time.monotonic_ns()):
                log.error("circuit breaker tripped: %s", self.risk.state_reason)
        elif step == SubmissionStep.UNKNOWN:
            self.counters.orders_unknown += 1
            ledger.apply(cid, o.Unknown(str(detail)))
        elif step in (SubmissionStep.RESENT, SubmissionStep.LOOKUP, SubmissionStep.UNRESOLVED):
            self.journal.append(step.value, cid)  # audit lines: they change no order
        self._schedule_sync()

    def _on_submit_done(self, cid: str, t0: int, task: asyncio.Future[BrokerOrder]) -> None:
        self._tasks.discard(task)
        self._settling.discard(cid)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            self.recorder.stages["order_round_trip"].record(_perf() - t0)
        elif isinstance(exc, OrderNotSent):
            # Halted before its bytes left (kill switch, stop): it never reaches the venue.
            self.ledger.apply(cid, o.Abandoned())
            self._schedule_sync()
        elif isinstance(exc, OrderOutcomeUnknown):
            log.warning("order %s still unknown; reconciliation will decide", cid)
            self.reconciler.request(f"order {cid} unresolved")
        elif not isinstance(exc, OrderRejected):
            log.error("order %s: %s", cid, exc)

    def _on_trade_update(self, update: TradeUpdate) -> None:
        b = update.order
        cid = b.client_order_id
        # An order placed outside this node (the kill switch's flatten, the Alpaca dashboard,
        # another tool): positions belong to the account, so it is adopted and counted.
        # A notional order's reference is the mark: risk counts its notional at it.
        ref = float(update.price or 0) or self.mids.get(b.symbol or "", 0.0)
        if cid not in self.oms.orders and not self.ledger.adopt_external(
            fact_from(b), ref_price=ref
        ):
            self.counters.refused_events += 1
            log.warning("refused a trade update for an unknown order %s", cid)
            return
        name = update.event
        if name in RECONCILE_EVENTS:
            # A busted execution: the fill we booked is void. Only the broker's totals can
            # say what stands; the journal keeps an audit line of the event.
            log.warning("%s on order %s; reconciling", name, cid)
            self.journal.append(name, cid, {"exec_id": update.execution_id})
            self.reconciler.request(f"{name} on {cid}")
            return
        avg = float(b.filled_avg_price) if b.filled_avg_price is not None else None
        event = event_from_trade_update(
            name,
            execution_id=update.execution_id,
            qty=float(update.qty) if update.qty is not None else None,
            price=float(update.price) if update.price is not None else None,
            broker_id=b.id,
            cumulative_filled=float(b.filled_qty),
            cumulative_avg=avg,
            reason=update.reason,
            replaced_by=b.replaced_by,
        )
        if event is None:
            if name not in ("fill", "partial_fill"):
                n = self.counters.unknown_events = self.counters.unknown_events + 1
                if n & (n - 1) == 0:  # the 1st, 2nd, 4th...: the log stays bounded
                    log.warning(
                        "ignored trade update %.40r for %s (unknown event; %d)", name, cid, n
                    )
            return
        refused = self.ledger.refused
        self.ledger.apply(cid, event)
        if self.ledger.refused != refused:
            self.counters.refused_events += 1
            self.reconciler.request(f"refused an update for {cid}")
        self._schedule_sync()

    def _on_linked(self, replacement: o.Order, original: o.Order) -> None:
        # A replacement of one of ours (PATCHed elsewhere): same owner, and its own handle,
        # so the strategy hears of the order that now works in the original's place.
        strategy = self._owner.get(original.client_order_id)
        if strategy is None:
            return
        cid = replacement.client_order_id
        self._owner[cid] = strategy
        self.handles[cid] = OrderHandle(
            cid,
            replacement.symbol,
            replacement.side,  # type: ignore[arg-type]
            replacement.qty,
            replacement.order_type,  # type: ignore[arg-type]
            replacement.limit_price,
        )

    def _on_applied(self, event: o.OrderEvent, applied: o.Applied, kind: str) -> None:
        # The last step of the one outcome path: the owner hears of every change.
        order = applied.order
        cid = order.client_order_id
        if applied.fill_qty:
            self.counters.fills += 1
        if isinstance(event, o.Canceled):
            self.counters.orders_canceled += 1
        elif isinstance(event, o.Expired):
            self.counters.orders_expired += 1
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
        self._guard(
            strategy.on_order_update,
            OrderUpdate(
                UPDATE_NAMES.get(kind, kind),
                handle,
                applied.fill_qty,
                applied.fill_price or None,
                self.book.qty(order.symbol) if applied.fill_qty else None,
            ),
            strategy,
        )

    def _on_gap(self, since: float) -> None:
        # The stream came back: events in the gap are lost upstream; ask the broker.
        self.counters.stream_reconnects = self.stream.reconnects
        self.reconciler.request("trade_updates gap", fills_since=since)
