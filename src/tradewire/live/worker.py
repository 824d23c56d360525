"""A worker: unchanged ``Strategy`` code in its own process, trading through a gateway.

The worker owns no venue connection. It receives the gateway's market frames (decoded with
the inline engine's decoder), routes them to its strategies, and turns their orders into
intents the gateway checks against the whole account's risk, journals and sends. Intents
are resent with the same ``client_order_id`` until the gateway acknowledges them, so a
message lost to a reconnect is neither lost nor doubled. Sequence numbers on the market
stream and on the worker's own updates make every gap visible (counted and logged).

The worker says hello every second; the gateway answers the first hello of a worker
instance (and any hello after the gateway itself restarted) with a welcome carrying the
worker's open orders and its symbols' positions, so the same worker name coming back picks
up where it was.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import msgspec

from tradewire.bus import protocol as p
from tradewire.bus.base import Bus
from tradewire.engine.ids import ClientOrderIds
from tradewire.engine.strategy import OrderHandle, OrderUpdate, PositionView, Strategy
from tradewire.errors import TradewireError
from tradewire.live.conflation import conflate
from tradewire.live.gateway_watch import GatewayWatch
from tradewire.live.timers import Every
from tradewire.venues.polygon.messages import (
    FRAME_DECODER,
    Aggregate,
    MinuteAggregate,
    Quote,
    Trade,
)

log = logging.getLogger("tradewire.worker")


class WorkerStats:
    """What the worker's panel and metrics show."""

    def __init__(self) -> None:
        self.frames = self.events = self.md_gaps = self.update_gaps = 0
        self.intents = self.resent = self.denied = self.fills = self.dropped = 0
        self.refused = 0  # messages that did not decode
        self.conflated = 0  # quotes skipped for a newer one of the same symbol (--conflate)
        self.latency_ns: list[int] = []  # gateway send -> worker receive, a bounded sample


class WorkerNode:
    """Implements ``StrategyContext`` for a worker process."""

    def __init__(
        self,
        bus: Bus,
        strategies: list[Strategy],
        *,
        name: str,
        resend_s: float = 0.5,
        hello_s: float = 1.0,
        welcome_timeout_s: float = 10.0,
        conflate: bool = False,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.bus = bus
        # Whether the gateway is there, told in one line as it changes (the CLI prints it).
        self.watch = GatewayWatch(say or (lambda line: log.warning("worker %s: %s", name, line)))
        self.conflate = conflate
        # Set from a signal handler, between two bytecodes of a strategy: market data stops
        # reaching strategies at once, so a stop does not wait behind a held backlog.
        self.stopping = False
        self._backlog: list[Any] = []  # decoded events waiting for the conflating pass
        self.name = name
        self.strategies = strategies
        self.instance = base64.b32encode(os.urandom(5)).decode().lower()
        self.ids = ClientOrderIds(prefix=f"{name[:12]}-{self.instance}-")
        self.resend_s = resend_s
        self.hello_s = hello_s
        self.welcome_timeout_s = welcome_timeout_s
        self.stats = WorkerStats()
        self.gateway = ""
        self.halted: str | None = None
        self.cash = Decimal(0)
        self.md_seq = 0
        self.update_seq = 0  # the last order update applied, in sequence
        self._gap_seen = 0  # the highest update seen beyond a gap (reported once)
        self.handles: dict[str, OrderHandle] = {}
        self._owner: dict[str, Strategy] = {}
        self._pending: dict[str, tuple[bytes, float]] = {}  # unacknowledged intents
        self._positions: dict[str, PositionView] = {}
        self._routes: dict[str, list[Strategy]] = {}
        self._timers: list[Every] = []
        self._welcomed = asyncio.Event()
        self.symbols = sorted({s for st in strategies for s in st.symbols})

    def __repr__(self) -> str:
        return f"WorkerNode({self.name!r}, strategies={[s.name for s in self.strategies]})"

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        bus = self.bus
        bus.subscribe(p.MD, self._on_md)
        bus.subscribe(p.CTL, self._on_ctl)
        bus.subscribe(p.update_subject(self.name), self._on_update)
        await bus.start()
        for strategy in self.strategies:
            strategy.bind(self)
            for sym in strategy.symbols:
                self._routes.setdefault(sym, []).append(strategy)
        self._hello()
        self._timers.append(Every(asyncio.get_running_loop(), self.hello_s, self._hello))
        self._timers.append(Every(asyncio.get_running_loop(), self.resend_s, self._resend))
        self._timers.append(Every(asyncio.get_running_loop(), 0.5, self._watch_tick))
        try:
            async with asyncio.timeout(self.welcome_timeout_s):
                await self._welcomed.wait()
        except TimeoutError:
            raise TradewireError(
                f"no gateway answered worker {self.name!r} within {self.welcome_timeout_s:g}s"
            ) from None
        for strategy in self.strategies:
            strategy.on_start()

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        for strategy in self.strategies:
            try:
                strategy.on_stop()
            except Exception:
                log.exception("strategy %s: on_stop raised", strategy.name)
        self.bus.publish(p.hello_subject(self.name), p.encode(p.Bye(self.name, self.instance)))
        await self.bus.close()

    def _hello(self) -> None:
        s = self.stats
        recent = sorted(s.latency_ns[-2000:])
        hello = p.Hello(
            self.name,
            self.instance,
            self.symbols,
            self.md_seq,
            s.frames,
            s.events,
            s.md_gaps,
            self.bus.dropped + s.dropped,
            recent[len(recent) // 2] / 1000 if recent else None,
            s.conflated,
            self.update_seq,
        )
        self.bus.publish(p.hello_subject(self.name), p.encode(hello))

    # -- from the gateway ------------------------------------------------------------------

    def _on_md(self, subject: str, payload: bytes) -> None:
        if self.stopping:
            return
        try:
            seq, sent_ns, frame = p.decode_md(payload)
            events = FRAME_DECODER.decode(frame)
        except (ValueError, msgspec.DecodeError, msgspec.ValidationError):
            self.stats.refused += 1
            return
        stats = self.stats
        last = self.md_seq
        # Counted from the welcome on (it carries the gateway's count): before it, the first
        # frame only sets where this worker starts.
        if self._welcomed.is_set() and seq > last + 1:
            stats.md_gaps += seq - last - 1
            log.warning(
                "worker %s: missed %d market frames (%d..%d)",
                self.name,
                seq - last - 1,
                last + 1,
                seq - 1,
            )
        if seq > last:
            self.md_seq = seq
        stats.frames += 1
        stats.events += len(events)
        if len(stats.latency_ns) < 100_000:
            stats.latency_ns.append(time.time_ns() - sent_ns)
        if self.conflate:
            # Deliver after the bus has handed over what it holds now (one loop turn).
            if not self._backlog:
                asyncio.get_running_loop().call_soon(self._flush)
            self._backlog.extend(events)
            return
        self._deliver(events)

    def _flush(self) -> None:
        events, skipped = conflate(self._backlog)
        self._backlog = []
        self.stats.conflated += skipped
        self._deliver(events)

    def _deliver(self, events: Sequence[Any]) -> None:
        routes = self._routes
        for ev in events:
            if self.stopping:
                return
            strategies = routes.get(getattr(ev, "symbol", ""))
            if not strategies:
                continue
            etype = type(ev)
            for strategy in strategies:
                try:
                    if etype is Quote:
                        strategy.on_quote(ev)
                    elif etype is Trade:
                        strategy.on_trade(ev)
                    elif etype is Aggregate or etype is MinuteAggregate:
                        strategy.on_bar(ev)
                except Exception:
                    log.exception("strategy %s raised", strategy.name)

    def _on_ctl(self, subject: str, payload: bytes) -> None:
        msg = self._decode(payload)
        if isinstance(msg, p.Heartbeat):
            if self._welcomed.is_set() or self.watch.gone:
                self.watch.beat(time.monotonic(), new_instance=msg.gateway != self.gateway)
            if self.gateway and msg.gateway != self.gateway:
                log.warning("worker %s: the gateway restarted; resynchronising", self.name)
                self._welcomed.clear()
                self._hello()
            self.halted = msg.halted
        elif isinstance(msg, p.Halt):
            self.halted = msg.reason
            log.error("worker %s: trading halted by the gateway: %s", self.name, msg.reason)

    def _watch_tick(self) -> None:
        self.watch.tick(time.monotonic())

    def _on_update(self, subject: str, payload: bytes) -> None:
        msg = self._decode(payload)
        if isinstance(msg, p.Ack):
            self._pending.pop(msg.client_order_id, None)
            if msg.denied is not None:
                self._denied(msg.client_order_id, msg.denied)
        elif isinstance(msg, p.Update):
            self._apply(msg)
        elif isinstance(msg, p.Welcome):
            self._welcome(msg)
        elif isinstance(msg, p.State):
            for pos in msg.positions:
                self._positions[pos.symbol] = _view(pos)
        elif isinstance(msg, p.Dropped):
            self.stats.dropped += msg.count
            log.warning("worker %s: the gateway dropped %d messages to it", self.name, msg.count)

    def _decode(self, payload: bytes) -> p.Message | None:
        try:
            return p.decode(payload)
        except (msgspec.DecodeError, msgspec.ValidationError):
            self.stats.refused += 1
            return None

    def _welcome(self, msg: p.Welcome) -> None:
        self.watch.beat(time.monotonic(), new_instance=msg.gateway != self.gateway)
        if self.gateway and msg.gateway != self.gateway:
            # A new gateway numbers its streams from its own start.
            log.warning(
                "worker %s: resynchronising with a new gateway instance (%d open orders)",
                self.name,
                len(msg.orders),
            )
            self.md_seq = msg.md_seq
            self.update_seq = 0
            self._gap_seen = 0
        if not self.md_seq:
            self.md_seq = msg.md_seq  # no frame yet: the gateway's count is where we start
        self.gateway = msg.gateway
        self.halted = msg.halted
        # The gateway's count is the truth (a resync moves it forward past lost updates).
        self.update_seq = max(self.update_seq, msg.update_seq)
        for order in msg.orders:
            handle = self.handles.get(order.client_order_id)
            if handle is None:  # an order of a previous instance of this worker
                handle = OrderHandle(
                    order.client_order_id,
                    order.symbol,
                    order.side,  # type: ignore[arg-type]
                    order.qty,
                    order.order_type,  # type: ignore[arg-type]
                    order.limit_price,
                )
                self.handles[order.client_order_id] = handle
                if self.strategies:
                    self._owner[order.client_order_id] = self._strategy_for(order.symbol)
            handle.status = order.status
            handle.filled_qty = order.filled_qty
        for pos in msg.positions:
            self._positions[pos.symbol] = _view(pos)
        self._welcomed.set()
        self._resend()  # whatever the gateway had not acknowledged

    def _apply(self, msg: p.Update) -> None:
        """Only in sequence: a duplicate (a replay of what arrived) is dropped; an update
        after a gap waits for the gateway's replay, which the next hello asks for."""
        if msg.seq <= self.update_seq:
            return
        if msg.seq > self.update_seq + 1:
            missing = msg.seq - max(self.update_seq, self._gap_seen) - 1
            self._gap_seen = max(self._gap_seen, msg.seq)
            if missing > 0:  # newly missing (not the ones held back behind a known gap)
                self.stats.update_gaps += missing
                log.warning(
                    "worker %s: order updates %d..%d missing; asking the gateway again",
                    self.name,
                    self.update_seq + 1,
                    msg.seq - 1,
                )
                asyncio.get_running_loop().call_later(0.15, self._hello)
            return
        self.update_seq = msg.seq
        handle = self.handles.get(msg.client_order_id)
        strategy = self._owner.get(msg.client_order_id)
        if handle is None or strategy is None:
            return
        handle.status = msg.status
        handle.filled_qty = msg.filled_qty
        handle.filled_avg_price = msg.filled_avg_price
        handle.broker_order_id = msg.broker_order_id
        if msg.reject_reason is not None:
            handle.reject_reason = msg.reject_reason
        if msg.fill_qty:
            self.stats.fills += 1
            if msg.position_qty is not None:
                old = self._positions.get(handle.symbol, PositionView(handle.symbol))
                old.qty = msg.position_qty
                self._positions[handle.symbol] = old
        update = OrderUpdate(msg.event, handle, msg.fill_qty, msg.fill_price, msg.position_qty)
        try:
            strategy.on_order_update(update)
        except Exception:
            log.exception("strategy %s raised in on_order_update", strategy.name)

    def _denied(self, cid: str, why: str) -> None:
        self.stats.denied += 1
        handle = self.handles.get(cid)
        strategy = self._owner.get(cid)
        if handle is None or strategy is None:
            return
        handle.status = "denied"
        handle.denied = why
        try:
            strategy.on_order_update(OrderUpdate("denied", handle))
        except Exception:
            log.exception("strategy %s raised in on_order_update", strategy.name)

    def _resend(self) -> None:
        now = time.monotonic()
        for cid, (payload, sent) in list(self._pending.items()):
            if now - sent >= self.resend_s:
                self.stats.resent += 1
                self._pending[cid] = (payload, now)
                self.bus.publish(p.intent_subject(self.name), payload)

    def _strategy_for(self, symbol: str) -> Strategy:
        return (self._routes.get(symbol) or self.strategies)[0]

    # -- StrategyContext -------------------------------------------------------------------

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
        if self.halted is not None:
            handle.status = "denied"
            handle.denied = f"halted: {self.halted}"
            self.stats.denied += 1
            return handle
        intent = p.Intent(
            self.name,
            cid,
            symbol,
            side,
            qty,
            order_type,
            limit_price,
            stop_price,
            time_in_force,
            extended_hours,
            time.time_ns(),
        )
        payload = p.encode(intent)
        self.handles[cid] = handle
        self._owner[cid] = strategy
        self._pending[cid] = (payload, time.monotonic())
        self.stats.intents += 1
        self.bus.publish(p.intent_subject(self.name), payload)
        return handle

    def cancel(self, strategy: Strategy, client_order_id: str) -> None:
        cancel = p.CancelIntent(self.name, client_order_id)
        self.bus.publish(p.intent_subject(self.name), p.encode(cancel))

    def position(self, symbol: str) -> PositionView:
        view = self._positions.get(symbol)
        return PositionView(symbol) if view is None else view

    def open_orders(self, strategy: Strategy) -> list[OrderHandle]:
        return [
            h for cid, h in self.handles.items() if h.is_open and self._owner.get(cid) is strategy
        ]

    def call_later(self, strategy: Strategy, delay_s: float, callback: Callable[[], None]) -> Any:
        return asyncio.get_running_loop().call_later(delay_s, callback)

    def call_every(
        self, strategy: Strategy, interval_s: float, callback: Callable[[], None]
    ) -> Any:
        timer = Every(asyncio.get_running_loop(), interval_s, callback)
        self._timers.append(timer)
        return timer

    def now_ns(self) -> int:
        return time.time_ns()


def _view(pos: p.PositionState) -> PositionView:
    return PositionView(pos.symbol, pos.qty, pos.avg_price, pos.realized, pos.unrealized)
