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
from tradewire.engine.translate import (
    RECONCILE_EVENTS,
    OrderFact,
    event_from_trade_update,
    events_from_fact,
    legs_filled,
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
from tradewire.venues.alpaca.reports import fact_from, is_leg, leg_fill
from tradewire.venues.alpaca.submission import SubmissionStep

if TYPE_CHECKING:
    from tradewire.engine.core import EngineCore
    from tradewire.engine.journal.store import Journal
    from tradewire.engine.ledger import Ledger
    from tradewire.engine.positions import PositionBook
    from tradewire.engine.risk import RiskEngine
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
    core: EngineCore
    leg_parent: dict[str, str]  # a multi-leg order's leg broker id -> its parent's cid
    finish_timeout_s: float
    counters: Counters
    journal: Journal
    mids: dict[str, float]
    _settling: set[str]
    _tasks: set[asyncio.Future[Any]]

    if TYPE_CHECKING:  # provided by TradingNode; declared here for the type checker

        def _spawn(self, coro: Any) -> None: ...

        def _schedule_sync(self) -> None: ...

    # -- the venue port's cancel and replace (engine.ports.VenuePort) -----------------------

    def cancel(self, client_order_id: str, broker_id: str) -> None:
        """Ask the broker to cancel (the core has applied ``CancelRequested``)."""
        self._spawn(self._cancel(broker_id, client_order_id))

    def replace(
        self,
        client_order_id: str,
        broker_id: str,
        *,
        new_client_order_id: str,
        qty: float | None,
        limit_price: float | None,
        stop_price: float | None,
    ) -> None:
        """PATCH the order (the core has applied ``ReplaceRequested``); the replacement is
        adopted as the original's, under ``new_client_order_id``."""
        self._spawn(
            self._replace(
                client_order_id, broker_id, new_client_order_id, qty, limit_price, stop_price
            )
        )

    async def _replace(
        self,
        cid: str,
        broker_id: str,
        new_cid: str,
        qty: float | None,
        limit_price: float | None,
        stop_price: float | None,
    ) -> None:
        try:
            new = await self.broker.replace_order(
                broker_id,
                qty=int(qty) if qty is not None and float(qty).is_integer() else qty,  # type: ignore[arg-type]
                limit_price=limit_price,
                stop_price=stop_price,
                client_order_id=new_cid,
            )
        except RetryableBrokerError as exc:
            log.warning("replace of %s not confirmed (%s); reconciling", cid, exc)
            self.reconciler.request(f"replace of {cid} not confirmed")
            return
        except TradewireError as exc:
            self.ledger.apply(cid, o.ReplaceRejected(str(exc)))
            self.core.replace_refused(new_cid, str(exc))
            return
        if new.client_order_id not in self.oms.orders:  # else its trade update adopted it
            ref = self.mids.get(new.symbol or "", 0.0)
            self.ledger.adopt_external(fact_from(new), ref_price=ref)

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
            ledger.apply_all(cid, events_from_fact(self._fact(detail)))
        elif step == SubmissionStep.REJECTED:
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

    def _fact(self, b: BrokerOrder) -> OrderFact:
        """The engine's fact of a broker order; a multi-leg parent's leg ids are noted, so
        a leg's own update finds its parent."""
        fact = fact_from(b)
        for leg_id in fact.leg_ids:
            self.leg_parent[leg_id] = fact.client_order_id
        return fact

    def _on_leg_update(self, update: TradeUpdate) -> None:
        # A leg of a multi-leg order reports on its own: booked through its parent, whose
        # row it is (engine/multileg.py); a leg of a parent not seen yet is for the
        # reconciler, which reads the parent with its legs.
        b = update.order
        parent = self.leg_parent.get(b.id)
        if parent is None or parent not in self.oms.orders:
            self.reconciler.request(f"an update for leg {b.id} of an unknown mleg order")
            return
        if update.event in ("fill", "partial_fill") and b.filled_qty > 0:
            self.ledger.apply(parent, legs_filled(f"leg:{b.id}", (leg_fill(b),)))
            self._schedule_sync()

    def _on_trade_update(self, update: TradeUpdate) -> None:
        b = update.order
        if is_leg(b):
            self._on_leg_update(update)
            return
        cid = b.client_order_id
        # An order placed outside this node (the kill switch's flatten, the Alpaca dashboard,
        # another tool): positions belong to the account, so it is adopted and counted.
        # A notional order's reference is the mark: risk counts its notional at it.
        ref = float(update.price or 0) or self.mids.get(b.symbol or "", 0.0)
        fact = self._fact(b)
        if cid not in self.oms.orders and not self.ledger.adopt_external(fact, ref_price=ref):
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
            legs=fact.leg_fills,
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

    def _on_gap(self, since: float) -> None:
        # The stream came back: events in the gap are lost upstream; ask the broker.
        self.counters.stream_reconnects = self.stream.reconnects
        self.reconciler.request("trade_updates gap", fills_since=since)
