"""The gateway: one feed, one broker account, many strategy processes.

It wraps a :class:`~tradewire.live.node.TradingNode` (the feed, the REST pool, the
trade_updates stream, account-wide risk, the journal, the kill switch) and puts workers in
front of it. Each worker is represented inside the node by a :class:`WorkerProxy`, a
``Strategy`` that receives no market callbacks, so a worker's intent goes through exactly
the inline path: ``node.submit`` checks it against the whole account's risk, journals it and
writes it; its fills come back through the ledger to the proxy's ``on_order_update``, which
forwards them to that worker alone, numbered.

Market data: every frame the feed delivers, once the gateway's own strategies have run, is
published as received (no re-encoding) to every bus — only while some worker is connected.
The feed subscribes to a symbol when the first worker asks for it and unsubscribes when
the last one leaves. A worker that stops saying hello is gone after ``worker_timeout_s``:
its open orders are cancelled (``cancel_on_worker_exit``), its positions stay in the book.

A worker acts only as itself: where a transport knows which worker a message came from
(``bus.sender``, the name bound to a shared-memory registry connection), a hello, goodbye,
intent or cancel that names another worker is refused and counted, never acted on, with
at most one warning per sending worker and kind; otherwise a worker could book orders as
another, cancel its orders, or grow the gateway by one worker per name it makes up. A hello
is bounded too (:mod:`tradewire.live.admission`): at most ``MAX_SYMBOLS`` symbols, and a
restart re-welcomed at most once a second.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import time
from functools import partial
from typing import Any

import msgspec

from tradewire.bus import protocol as p
from tradewire.bus.base import Bus
from tradewire.engine.strategy import OrderUpdate, Strategy
from tradewire.errors import TradewireError
from tradewire.live.admission import Admission
from tradewire.live.node import TradingNode
from tradewire.live.timers import Every
from tradewire.live.worker_links import WorkerLink, account_state, positions, welcome

log = logging.getLogger("tradewire.gateway")
# Answers remembered per worker for resends. A worker resends only until it is answered
# (every 0.5 s), so a resend older than this many newer intents does not happen in
# practice; if it does, the ledger answers for an order it knows (never a second order).
ACK_MEMORY = 65_536


class WorkerProxy(Strategy):
    """A worker, as the node sees it: the owner of its orders."""

    def __init__(self, gateway: Gateway, worker: str, symbols: list[str]) -> None:
        super().__init__(symbols=symbols, name=f"worker:{worker}")
        self.gateway = gateway
        self.worker = worker

    def on_order_update(self, update: OrderUpdate) -> None:
        self.gateway.forward(self.worker, update)


class Gateway:
    def __init__(
        self,
        node: TradingNode,
        buses: list[Bus],
        *,
        cancel_on_worker_exit: bool = True,
        worker_timeout_s: float = 3.0,
        heartbeat_s: float = 1.0,
    ) -> None:
        self.node = node
        self.buses = buses
        self.cancel_on_worker_exit = cancel_on_worker_exit
        self.worker_timeout_s = worker_timeout_s
        self.heartbeat_s = heartbeat_s
        self.instance = base64.b32encode(os.urandom(5)).decode().lower()
        self.workers: dict[str, WorkerLink] = {}
        self.md_seq = 0
        self.halted: str | None = None
        self.admission = Admission()  # what workers may make it do: counted when refused
        self.duplicates = 0  # intents resent with an id already answered
        self.oversize = 0  # market frames too big for a transport (workers see a gap)
        self._wanted: dict[str, int] = {}  # symbol -> workers that want it
        self._timer: Every | None = None

    @property
    def refused(self) -> int:
        """Messages from workers not acted on (undecodable, impostors, bounds)."""
        return self.admission.refused

    def __repr__(self) -> str:
        return f"Gateway(workers={sorted(self.workers)}, buses={len(self.buses)})"

    async def start(self) -> None:
        for bus in self.buses:
            bus.subscribe(p.HELLO_ANY, partial(self._on_hello, bus))
            bus.subscribe(p.INTENT_ANY, partial(self._on_intent, bus))
            await bus.start()
        self.node.forward_frames(self._on_frame)
        self.node.recorder.worker_rows = self.worker_rows
        self._timer = Every(asyncio.get_running_loop(), self.heartbeat_s, self._tick)

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.node.forward_frames(None)
        for bus in self.buses:
            await bus.close()

    # -- market data out -------------------------------------------------------------------

    def _on_frame(self, payload: memoryview, recv_ns: int) -> None:
        if not self.workers:
            return
        self.md_seq += 1
        message = p.encode_md(self.md_seq, time.time_ns(), payload)
        for bus in self.buses:
            try:
                bus.publish(p.MD, message)
            except TradewireError as exc:
                # Too big for this transport: the workers see one numbered frame missing;
                # letting it raise would drop the gateway's Polygon connection instead.
                self.oversize += 1
                if self.oversize == 1 or self.oversize % 1000 == 0:
                    log.warning(
                        "market frame %d not published (%d so far): %s",
                        self.md_seq,
                        self.oversize,
                        exc,
                    )

    # -- workers in ------------------------------------------------------------------------

    def _from(self, bus: Bus, subject: str, msg: p.Message | None) -> p.Message | None:
        return self.admission.own(bus.sender, subject, msg)

    def _on_hello(self, bus: Bus, subject: str, payload: bytes) -> None:
        msg = self._from(bus, subject, self._decode(payload))
        if isinstance(msg, p.Bye):
            link = self.workers.get(msg.worker)
            if link is not None and link.instance == msg.instance:
                self._gone(link, "said goodbye")
            return
        if not isinstance(msg, p.Hello):
            return
        link = self.workers.get(msg.worker)
        now = time.monotonic()
        if link is not None and link.instance == msg.instance and link.alive:
            link.last_seen = now
            link.report = msg
            if msg.update_seq < link.update_seq and not link.replay(msg.update_seq, now):
                log.warning(
                    "worker %s missed updates older than the %d kept: resynchronising it",
                    link.name,
                    len(link.sent),
                )
                link.send(self._welcome(link))
            return
        if not self.admission.hello(msg, link is not None, now):
            return
        if link is None:
            proxy = WorkerProxy(self, msg.worker, list(msg.symbols))
            self.node.core.add(proxy, max_errors=0)  # a worker's errors are its own
            link = WorkerLink(msg.worker, msg.instance, list(msg.symbols), bus, proxy, now)
            self.workers[msg.worker] = link
        else:  # the same worker, restarted (or back after a timeout): it gets its state
            if link.alive:
                self._release(link.symbols)
            link.instance, link.bus, link.last_seen, link.alive = msg.instance, bus, now, True
            link.symbols = list(msg.symbols)
        self._want(link.symbols)
        log.info("worker %s connected (%s)", msg.worker, ",".join(link.symbols))
        link.send(self._welcome(link))

    def _on_intent(self, bus: Bus, subject: str, payload: bytes) -> None:
        msg = self._from(bus, subject, self._decode(payload))
        if isinstance(msg, p.Intent):
            link = self.workers.get(msg.worker)
            if link is None:
                self.admission.refused += 1
                return
            cid = msg.client_order_id
            seen = link.acks.get(cid)
            if seen is None and (known := self.node.oms.get(cid)) is not None:
                if known.strategy == link.proxy.name:
                    seen = p.Ack(cid, None)  # answered long ago: the ledger knows the order
                else:  # another owner's id: booking it would overwrite that order's record
                    self.admission.refused += 1
                    link.send(p.Ack(cid, f"client_order_id {cid} is already in use"))
                    return
            if seen is not None:  # a resend: the first answer again, never a second order
                self.duplicates += 1
                link.send(seen)
                return
            link.intents += 1
            ack = self._submit(link, msg)
            link.acks[cid] = ack
            if len(link.acks) > ACK_MEMORY:
                del link.acks[next(iter(link.acks))]  # the oldest (dicts keep insertion order)
            link.send(ack)
        elif isinstance(msg, p.ReplaceIntent):
            link = self.workers.get(msg.worker)
            if link is None or subject != p.intent_subject(msg.worker):
                self.admission.refused += 1
                return
            seen = link.acks.get(msg.new_client_order_id)
            if seen is None:  # a resend gets the first answer again, never a second PATCH
                seen = link.acks[msg.new_client_order_id] = self._replace(link, msg)
            link.send(seen)
        elif isinstance(msg, p.CancelIntent):
            link = self.workers.get(msg.worker)
            if link is None or subject != p.intent_subject(msg.worker):
                self.admission.refused += 1
            elif msg.client_order_id in link.acks:
                self.node.core.cancel(link.proxy, msg.client_order_id)

    def _replace(self, link: WorkerLink, msg: p.ReplaceIntent) -> p.Ack:
        if self.halted is not None:
            return p.Ack(msg.new_client_order_id, f"halted: {self.halted}")
        if msg.client_order_id not in link.acks or self.node.oms.get(msg.new_client_order_id):
            return p.Ack(msg.new_client_order_id, "not this worker's order to replace")
        new = self.node.core.replace(
            link.proxy,
            msg.client_order_id,
            qty=msg.qty,
            limit_price=msg.limit_price,
            stop_price=msg.stop_price,
            new_client_order_id=msg.new_client_order_id,
        )
        if new is None:
            return p.Ack(msg.new_client_order_id, "the order cannot be replaced now")
        return p.Ack(msg.new_client_order_id, None)

    def _submit(self, link: WorkerLink, msg: p.Intent) -> p.Ack:
        if self.halted is not None:
            return p.Ack(msg.client_order_id, f"halted: {self.halted}")
        if msg.symbol not in link.symbols:
            return p.Ack(msg.client_order_id, f"symbol {msg.symbol} is not one of the worker's")
        handle = self.node.core.submit(
            link.proxy,
            msg.symbol,
            msg.side,
            None if msg.notional is not None else msg.qty,
            order_type=msg.order_type,
            limit_price=msg.limit_price,
            stop_price=msg.stop_price,
            time_in_force=msg.time_in_force,
            extended_hours=msg.extended_hours,
            client_order_id=msg.client_order_id,
            order_class=msg.order_class,
            take_profit=None if msg.take_profit is None else {"limit_price": msg.take_profit},
            stop_loss=None if msg.stop_loss is None else {"stop_price": msg.stop_loss},
            notional=msg.notional,
        )
        if handle.denied is None and msg.sent_ns:
            self.node.recorder.stages["worker_to_order_written"].record(
                max(time.time_ns() - msg.sent_ns, 0)
            )
        return p.Ack(msg.client_order_id, handle.denied)

    # -- workers out -----------------------------------------------------------------------

    def forward(self, worker: str, update: OrderUpdate) -> None:
        link = self.workers.get(worker)
        if link is not None:
            link.forward(update)

    def _welcome(self, link: WorkerLink) -> p.Welcome:
        node = self.node
        return welcome(
            link,
            instance=self.instance,
            md_seq=self.md_seq,
            halted=self.halted,
            core=node.core,
            book=node.book,
        )

    def _state(self, link: WorkerLink) -> p.State:
        node = self.node
        return p.State(positions(node.book, link.symbols), account_state(node.core.account))

    # -- liveness, heartbeat, kill ---------------------------------------------------------

    def _tick(self) -> None:
        now = time.monotonic()
        beat = p.encode(p.Heartbeat(self.instance, self.md_seq, self.halted))
        for bus in self.buses:
            bus.publish(p.CTL, beat)
        for link in list(self.workers.values()):
            if link.alive and now - link.last_seen > self.worker_timeout_s:
                self._gone(link, f"silent for {self.worker_timeout_s:g}s")
            elif link.alive:
                link.send(self._state(link))
                dropped = self._dropped_to(link.name)
                if dropped > link.told_dropped:  # told, best effort: it may be full still
                    link.send(p.Dropped(dropped - link.told_dropped))
                    link.told_dropped = dropped

    def _gone(self, link: WorkerLink, why: str) -> None:
        link.alive = False
        open_orders = self.node.core.open_orders(link.proxy)
        log.warning(
            "worker %s %s; %s %d open orders",
            link.name,
            why,
            "cancelling" if self.cancel_on_worker_exit else "keeping",
            len(open_orders),
        )
        if self.cancel_on_worker_exit:
            for handle in open_orders:
                self.node.core.cancel(link.proxy, handle.client_order_id)
        self._release(link.symbols)

    def worker_rows(self) -> dict[str, dict[str, Any]]:
        """Per worker, for the panel, the summary and the metrics."""
        return {
            name: link.row(self._dropped_to(name)) for name, link in sorted(self.workers.items())
        }

    def _dropped_to(self, worker: str) -> int:
        """Messages the gateway's transports could not deliver to ``worker`` (buffer full)."""
        return sum(bus.dropped_by_worker.get(worker, 0) for bus in self.buses)

    def halt(self, reason: str) -> None:
        """The kill switch, for workers: they stop sending, and intents in flight are denied."""
        self.halted = reason
        halt = p.encode(p.Halt(reason))
        for bus in self.buses:
            bus.publish(p.CTL, halt)

    async def kill(self, reason: str, *, flatten: bool) -> dict[str, Any]:
        self.halt(reason)
        result: dict[str, Any] = await self.node.kill(reason, flatten=flatten)
        return result

    def _want(self, symbols: list[str]) -> None:
        new = [s for s in symbols if self._wanted.get(s, 0) == 0]
        for s in symbols:
            self._wanted[s] = self._wanted.get(s, 0) + 1
        if new:
            self.node.spawn_subscribe(new)

    def _release(self, symbols: list[str]) -> None:
        gone = []
        for s in symbols:
            left = self._wanted.get(s, 0) - 1
            self._wanted[s] = max(left, 0)
            if left <= 0 and s not in self.node.own_symbols:
                gone.append(s)
        if gone:
            self.node.spawn_unsubscribe(gone)

    def _decode(self, payload: bytes) -> p.Message | None:
        try:
            return p.decode(payload)
        except (msgspec.DecodeError, msgspec.ValidationError):
            self.admission.refused += 1
            return None
