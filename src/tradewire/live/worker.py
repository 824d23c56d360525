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
from typing import Any

import msgspec

from tradewire.bus import protocol as p
from tradewire.bus.base import Bus
from tradewire.engine.core import EngineCore
from tradewire.engine.ids import ClientOrderIds
from tradewire.engine.ports import CoreCounters
from tradewire.engine.strategy import OrderHandle, PositionView, Strategy
from tradewire.errors import TradewireError
from tradewire.live.conflation import conflate
from tradewire.live.gateway_watch import GatewayWatch
from tradewire.live.timers import Every, LoopClock
from tradewire.venues.alpaca.order_body import OrderRequest
from tradewire.venues.alpaca.order_builder import build_any
from tradewire.venues.polygon.crypto import CRYPTO_FRAME_DECODER
from tradewire.venues.polygon.messages import FRAME_DECODER

log = logging.getLogger("tradewire.worker")


class WorkerStats:
    """What the worker's panel and metrics show."""

    def __init__(self, counters: CoreCounters) -> None:
        self._counters = counters  # the engine core's: denials and fills
        self.frames = self.events = self.md_gaps = self.update_gaps = 0
        self.intents = self.resent = self.dropped = 0
        self.refused = 0  # messages that did not decode
        self.conflated = 0  # quotes skipped for a newer one of the same symbol (--conflate)
        self.latency_ns: list[int] = []  # gateway send -> worker receive, a bounded sample

    @property
    def denied(self) -> int:
        return self._counters.orders_denied

    @property
    def fills(self) -> int:
        return self._counters.fills


class WorkerNode:
    """A worker process: the engine core in remote mode (its venue port publishes intents
    to the gateway, which checks the whole account's risk; the gateway's updates come back
    through :meth:`EngineCore.on_remote_update`)."""

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
        counters = CoreCounters()
        self.core = EngineCore(
            strategies, clock=LoopClock(), port=self, ids=self.ids, counters=counters
        )
        self.stats = WorkerStats(counters)
        self.gateway = ""
        self.md_seq = 0
        self.update_seq = 0  # the last order update applied, in sequence
        self._gap_seen = 0  # the highest update seen beyond a gap (reported once)
        self._pending: dict[str, tuple[bytes, float]] = {}  # unacknowledged intents
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
        self.core.start()  # on_start raising is a StrategyError, as in every host

    @property
    def halted(self) -> str | None:
        """The gateway's halt: while set, every order is denied here."""
        return self.core.halted

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self.core.stop("the worker is stopping")  # on_stop only for strategies that started
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
            events = _decode_frame(frame)
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
        if not self.stopping:
            self.core.on_market(events)

    def _on_ctl(self, subject: str, payload: bytes) -> None:
        msg = self._decode(payload)
        if isinstance(msg, p.Heartbeat):
            if self._welcomed.is_set() or self.watch.gone:
                self.watch.beat(time.monotonic(), new_instance=msg.gateway != self.gateway)
            if self.gateway and msg.gateway != self.gateway:
                log.warning("worker %s: the gateway restarted; resynchronising", self.name)
                self._welcomed.clear()
                self._hello()
            self.core.halted = msg.halted
        elif isinstance(msg, p.Halt):
            self.core.halted = msg.reason
            log.error("worker %s: trading halted by the gateway: %s", self.name, msg.reason)

    def _watch_tick(self) -> None:
        self.watch.tick(time.monotonic())

    def _on_update(self, subject: str, payload: bytes) -> None:
        msg = self._decode(payload)
        if isinstance(msg, p.Ack):
            self._pending.pop(msg.client_order_id, None)
            if msg.denied is not None:
                self.core.remote.on_denied(msg.client_order_id, msg.denied)
        elif isinstance(msg, p.Update):
            self._apply(msg)
        elif isinstance(msg, p.Welcome):
            self._welcome(msg)
        elif isinstance(msg, p.State):
            self._state(msg.positions, msg.account)
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
        self.core.halted = msg.halted
        # The gateway's count is the truth (a resync moves it forward past lost updates).
        self.update_seq = max(self.update_seq, msg.update_seq)
        for order in msg.orders:
            handle = self.core.handles.get(order.client_order_id)
            if handle is None:  # an order of a previous instance of this worker
                handle = OrderHandle(
                    order.client_order_id,
                    order.symbol,
                    order.side,  # type: ignore[arg-type]
                    order.qty,
                    order.order_type,  # type: ignore[arg-type]
                    order.limit_price,
                )
                if self.strategies:
                    self.core.remote.adopt(handle, self._strategy_for(order.symbol))
            handle.status = order.status
            handle.filled_qty = order.filled_qty
        self._state(msg.positions, msg.account)
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
        self.core.remote.on_update(
            msg.client_order_id,
            msg.event,
            status=msg.status,
            filled_qty=msg.filled_qty,
            filled_avg_price=msg.filled_avg_price,
            broker_order_id=msg.broker_order_id,
            reject_reason=msg.reject_reason,
            fill_qty=msg.fill_qty,
            fill_price=msg.fill_price,
            position_qty=msg.position_qty,
        )

    def _state(self, positions: list[p.PositionState], account: p.AccountState | None) -> None:
        """The gateway's word on positions (the account's) and money, every second."""
        for pos in positions:
            self.core.remote.positions[pos.symbol] = PositionView(
                pos.symbol, pos.qty, pos.avg_price, pos.realized, pos.unrealized
            )
        if account is not None:
            self.core.account.read(account.cash, account.buying_power)

    def _resend(self) -> None:
        now = time.monotonic()
        for cid, (payload, sent) in list(self._pending.items()):
            if now - sent >= self.resend_s:
                self.stats.resent += 1
                self._pending[cid] = (payload, now)
                self.bus.publish(p.intent_subject(self.name), payload)

    def _strategy_for(self, symbol: str) -> Strategy:
        return (self.core.market.quote_routes.get(symbol) or self.strategies)[0]

    # -- the venue port (engine.ports.VenuePort): orders become intents to the gateway -----

    build = staticmethod(build_any)  # refused here with the venue's rule, as inline

    def send(self, client_order_id: str, request: object, started_ns: int) -> None:
        assert isinstance(request, OrderRequest)
        intent = p.Intent(
            self.name,
            client_order_id,
            request.symbol,
            request.side,
            float(request.qty or 0),
            request.type,
            float(request.limit_price) if request.limit_price is not None else None,
            float(request.stop_price) if request.stop_price is not None else None,
            request.time_in_force,
            request.extended_hours,
            time.time_ns(),
            request.order_class,
            float(request.take_profit.limit_price) if request.take_profit else None,
            float(request.stop_loss.stop_price) if request.stop_loss else None,
            float(request.notional) if request.notional is not None else None,
        )
        self._publish(client_order_id, p.encode(intent))
        self.stats.intents += 1

    def cancel(self, client_order_id: str, broker_id: str) -> None:
        cancel = p.CancelIntent(self.name, client_order_id)
        self.bus.publish(p.intent_subject(self.name), p.encode(cancel))

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
        msg = p.ReplaceIntent(
            self.name, client_order_id, new_client_order_id, qty, limit_price, stop_price
        )
        self._publish(new_client_order_id, p.encode(msg))

    def _publish(self, cid: str, payload: bytes) -> None:
        # Resent until the gateway acknowledges it (same client_order_id: never doubled).
        self._pending[cid] = (payload, time.monotonic())
        self.bus.publish(p.intent_subject(self.name), payload)


def _decode_frame(frame: bytes | memoryview) -> list[Any]:
    """A market frame as the gateway forwards it: the stocks cluster's (the usual case, one
    decode), else the crypto cluster's (its events are tagged XQ/XT/…, which the stocks
    decoder refuses)."""
    try:
        return FRAME_DECODER.decode(frame)
    except msgspec.DecodeError:
        return CRYPTO_FRAME_DECODER.decode(frame)
