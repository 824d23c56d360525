"""What every same-machine bus shares: the registry socket, peers, wake-ups and delivery.

A same-machine transport moves bytes through shared memory (:mod:`tradewire.bus.iceoryx` over
iceoryx2, :mod:`tradewire.bus.ring` over a plain mmap ring for comparison); how a worker
finds the gateway, how either side learns the other is gone, and how a reader is woken on
the asyncio loop are the same for both, and live here.

* The registry is a ``SOCK_SEQPACKET`` unix socket at
  ``/dev/shm/tradewire-<name>/gateway.sock``. A worker joins in two steps: it names itself,
  the gateway answers with its buffer (the bound for every worker, from the gateway's
  config), the worker makes its channels with the smaller of that and its own and sends
  how to reach them (JSON, plus descriptors if its transport passes any); the gateway
  attaches and says ``ok``, with any descriptors the transport's gateway side made for the
  worker (the ring's wake-ups: :mod:`tradewire.bus.shm_wake`). Before a name, the registry
  socket's own limits apply (:mod:`tradewire.bus.shm_door`). A worker leaves by closing
  the socket or dying — the kernel's EOF is the one liveness signal both sides trust, so a
  crashed process never leaves the other waiting.
* A worker has its OWN channel per direction: a slow worker fills and drops only its own
  messages. ``publish`` never blocks; a full channel drops and counts (per worker in
  :attr:`RegistryBus.dropped_by_worker`).
* A reader is woken through ``loop.add_reader(fd)`` on its channel's descriptor; with
  ``busy_poll=True`` it spins on its channels in a task that yields with
  ``asyncio.sleep(0)``, and its channels carry no wake-up (the writer skips the syscall).
* Subjects ``tw.upd.<worker>`` go to that worker only; every other gateway subject goes to
  all workers (filtered by each worker's subscriptions); what a worker publishes goes to
  the gateway.
* A worker is not trusted (:mod:`tradewire.bus.shm_channels`): a channel it breaks ends
  that worker with one line (:attr:`RegistryBus.faults`), never the gateway; an unreadable
  record is skipped and counted (:attr:`RegistryBus.skipped_by_worker`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import socket
from pathlib import Path
from typing import Any, Literal

from tradewire.bus.base import Handler
from tradewire.bus.shm_channels import ChannelClosed, ChannelFault, Inbound, Outbound, Peer
from tradewire.bus.shm_checks import close_all, private_dir
from tradewire.bus.shm_door import Door
from tradewire.bus.shm_join import join
from tradewire.errors import TradewireError

log = logging.getLogger(__name__)
_BATCH = 64  # records handled per loop turn per channel

SHM_ROOT = Path("/dev") / "shm"
DIRECT_PREFIX = "tw.upd."
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class RegistryBus:
    """The :class:`tradewire.bus.base.Bus` shape over a per-worker channel pair.

    Subclasses say how channels are made: :meth:`_worker_channels` (the worker makes its
    pair and says, in the hello, how the gateway finds it) and :meth:`_gateway_channels`
    (the gateway attaches to what a hello names).
    """

    TRANSPORT = ""  # what the join's offer names, so both ends agree

    def __init__(
        self,
        name: str,
        *,
        role: Literal["gateway", "worker"],
        worker: str | None = None,
        capacity: int = 4096,
        max_payload: int = 65536,
        busy_poll: bool = False,
    ) -> None:
        if not NAME.match(name) or (worker is not None and not NAME.match(worker)):
            raise TradewireError(f"bus and worker names must match {NAME.pattern}")
        if role == "worker" and worker is None:
            raise TradewireError("a worker needs a name")
        self.name, self.role, self.worker = name, role, worker
        self.capacity = capacity  # messages buffered per worker and direction
        self.max_payload = max_payload
        self.busy_poll = busy_poll
        self.dir = SHM_ROOT / f"tradewire-{name}"
        self._sock_path = self.dir / "gateway.sock"
        self._exact: dict[str, list[Handler]] = {}
        self._prefix: list[tuple[str, Handler]] = []
        self._peers: dict[str, Peer] = {}
        self._door: Door | None = None  # the gateway's registry socket and joins under way
        self._sock: socket.socket | None = None  # the worker's registry connection
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poller: asyncio.Task[None] | None = None
        self._down: Inbound | None = None
        self._up: Outbound | None = None
        self._dropped = 0
        self.faults = 0  # workers ended because they broke their channels (gateway side)
        self.sender: str | None = None
        """While a handler runs on the gateway: the worker whose channel the message came
        on, the name bound to the registry connection it joined with (a worker can put any
        name in a payload, not on another worker's channel); None otherwise."""
        self.connected = False
        self._stopping = False
        self._bound = False  # the gateway made the socket (and may remove it and the folder)
        self._rejoin_task: asyncio.Task[None] | None = None

    # -- what a transport provides -----------------------------------------------------
    def _worker_channels(
        self, capacity: int
    ) -> tuple[Inbound, Outbound, dict[str, Any], list[int]]:
        """Make this worker's (down reader, up writer) holding ``capacity`` messages each,
        and say how the gateway reaches them: the hello's fields and the fds to pass."""
        raise NotImplementedError

    def _gateway_channels(
        self, worker: str, hello: dict[str, Any], fds: list[int]
    ) -> tuple[Outbound, Inbound, list[int]]:
        """Attach to the channels ``worker``'s hello names: (down writer, up reader, the
        descriptors to hand the worker with the ``ok``, closed here once sent)."""
        raise NotImplementedError

    def _hello_sent(self, fds: list[int]) -> None:
        """The hello went (or failed): the worker's copies of passed descriptors may go."""

    def _welcomed(self, down: Inbound, up: Outbound, fds: list[int]) -> None:
        """The ``ok`` came with ``fds`` (the gateway's wake-ups, say): take them or refuse."""
        if fds:
            close_all(fds)
            raise TradewireError(f"the gateway sent {len(fds)} unexpected descriptors")

    def _forget_worker(self) -> None:
        """After a worker left (or died): release what a transport keeps beyond the peer."""

    # -- the Bus interface -------------------------------------------------------------
    @property
    def dropped(self) -> int:
        return self._dropped

    @property
    def dropped_by_worker(self) -> dict[str, int]:
        """Drops per connected worker (gateway side), to see which receiver is slow."""
        return {p.name: p.dropped for p in self._peers.values()}

    @property
    def wakes_skipped_by_worker(self) -> dict[str, int]:
        """Wake-ups not sent per connected worker (gateway side): its queue of them was full."""
        return {p.name: p.down.wakes_skipped for p in self._peers.values()}

    @property
    def skipped_by_worker(self) -> dict[str, int]:
        """Unreadable records skipped per connected worker (gateway side)."""
        return {p.name: p.up.skipped for p in self._peers.values()}

    @property
    def strangers(self) -> int:
        """Joins refused before a name (gateway side): another user's, too many at once."""
        return self._door.strangers if self._door is not None else 0

    @property
    def workers(self) -> list[str]:
        """The workers connected now (gateway side)."""
        return list(self._peers)

    def subscribe(self, subject: str, handler: Handler) -> None:
        if subject.endswith(".>"):
            self._prefix.append((subject[:-1], handler))
        else:
            self._exact.setdefault(subject, []).append(handler)

    def publish(self, subject: str, payload: bytes) -> None:
        if len(payload) > self.max_payload:
            raise TradewireError(f"payload of {len(payload)} B exceeds {self.max_payload}")
        subj = subject.encode("ascii")
        if self.role == "worker":
            try:
                if self._up is None or not self.connected or not self._up.put(subj, payload):
                    self._dropped += 1
            except ChannelFault:  # the gateway's end is gone: its EOF on the registry says so
                self._dropped += 1
            return
        if subject.startswith(DIRECT_PREFIX):
            peer = self._peers.get(subject[len(DIRECT_PREFIX) :])
            targets = [peer] if peer is not None else []
        else:
            targets = list(self._peers.values())
        for p in targets:
            try:
                if not p.down.put(subj, payload):
                    p.dropped += 1
                    self._dropped += 1
            except ChannelFault as exc:
                self._fault(p, exc)

    async def start(self) -> None:
        if self._rejoin_task is None:
            self._stopping = False
        self._loop = asyncio.get_running_loop()
        if self.role == "gateway":
            self._start_gateway()
        else:
            await self._start_worker()
        if self.busy_poll:
            self._poller = self._loop.create_task(self._spin())

    async def close(self) -> None:
        self._stopping = True
        task, self._rejoin_task = self._rejoin_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._teardown()

    async def _teardown(self) -> None:
        if self._loop is None:
            return
        loop, self._loop = self._loop, None
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        for peer in list(self._peers.values()):
            self._drop_peer(peer, loop)
        if self._door is not None:
            self._door.close()
            self._door = None
        if self._sock is not None:
            loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        if self.role == "gateway" and self._bound:  # never touch a folder we refused
            self._bound = False
            with contextlib.suppress(OSError):
                self.dir.rmdir()
        if self._down is not None and self._down.fd is not None:
            loop.remove_reader(self._down.fd)
        for end in (self._down, self._up):
            if end is not None:
                end.close()
        self._down = self._up = None
        self.connected = False

    # -- delivery ----------------------------------------------------------------------
    def _dispatch(self, batch: list[tuple[str, bytes]], sender: str | None = None) -> None:
        self.sender = sender
        try:
            for subject, payload in batch:
                for h in self._exact.get(subject, ()):
                    self._call(h, subject, payload)
                for prefix, h in self._prefix:
                    if subject.startswith(prefix):
                        self._call(h, subject, payload)
        finally:
            self.sender = None
            batch.clear()

    @staticmethod
    def _call(h: Handler, subject: str, payload: bytes) -> None:
        try:
            h(subject, payload)
        except Exception:
            log.exception("bus handler for %s failed", subject)

    def _on_wake(self, end: Inbound, peer: Peer | None = None) -> None:
        try:
            end.clear_wake()
        except ChannelFault as exc:
            if peer is None:
                self._gateway_broke(exc)
            else:
                self._fault(peer, exc)
            return
        self._drain_some(end, peer)

    def _drain_some(self, end: Inbound, peer: Peer | None = None) -> None:
        # A bounded batch per turn: a worker whose strategy is slower than the feed must
        # still run its timers (its hello keeps it alive at the gateway) between batches.
        batch: list[tuple[str, bytes]] = []
        if self._drain(end, peer, batch, _BATCH) == _BATCH and self._loop is not None:
            self._loop.call_soon(self._drain_some, end, peer)
        self._dispatch(batch, peer.name if peer is not None else None)

    def _drain(
        self, end: Inbound, peer: Peer | None, batch: list[tuple[str, bytes]], limit: int
    ) -> int:
        """Drain ``end`` (``peer``'s, on the gateway); a broken channel ends its owner."""
        if peer is not None and peer.gone:
            return 0  # a turn already scheduled when the worker was dropped
        start = len(batch)
        try:
            n = end.drain(batch, limit)
        except ChannelFault as exc:
            del batch[start:]  # from a channel being cut: acted on by no one
            if peer is None:
                self._gateway_broke(exc)
            else:
                self._fault(peer, exc)
            return 0
        if peer is not None and not peer.skipped_told and end.skipped:
            peer.skipped_told = True  # once per worker; the count says the rest
            log.warning("worker %s: skipped an unreadable record on %s", peer.name, self.dir)
        return n

    def _fault(self, peer: Peer, exc: ChannelFault) -> None:
        """``peer`` broke its channel: end it (one line, counted); everyone else goes on."""
        if peer.gone or self._loop is None:
            return
        if isinstance(exc, ChannelClosed):  # it left (an exit races its goodbye): no fault
            log.info("worker %s left %s: %s", peer.name, self.dir, exc)
        else:
            self.faults += 1
            log.warning("worker %s cut off from %s: %s", peer.name, self.dir, exc)
        self._drop_peer(peer, self._loop, quiet=True)
        self._forget_worker()

    def _gateway_broke(self, exc: ChannelFault) -> None:
        """The gateway's channel to this worker is broken: leave and join again."""
        log.error("the channel from the gateway at %s is broken: %s", self.dir, exc)
        if self._loop is not None and not self._stopping and self._rejoin_task is None:
            self.connected = False
            self._rejoin_task = self._loop.create_task(self._rejoin())

    async def _spin(self) -> None:
        """Busy-poll: drain every inbound channel, yield to the loop between passes."""
        batch: list[tuple[str, bytes]] = []
        while True:
            for peer in list(self._peers.values()) if self.role == "gateway" else []:
                if self._drain(peer.up, peer, batch, 1 << 30):
                    self._dispatch(batch, peer.name)
            if self._down is not None and self._drain(self._down, None, batch, 1 << 30):
                self._dispatch(batch)
            await asyncio.sleep(0)

    # -- gateway -----------------------------------------------------------------------
    def _start_gateway(self) -> None:
        assert self._loop is not None
        private_dir(self.dir)
        self._door = Door(self._loop, self._sock_path, self._on_join, self._expired)
        self._door.open()
        self._bound = True  # the folder is the gateway's own to remove when it stops
        self.connected = True

    def _on_join(self, conn: socket.socket) -> None:
        assert self._loop is not None
        self._loop.add_reader(conn.fileno(), self._on_hello, conn)

    def _expired(self, conn: socket.socket, exc: Exception) -> None:
        self._reject(conn, [], exc)

    def _on_hello(self, conn: socket.socket) -> None:
        """Step 1: a worker names itself; offer it the gateway's buffer."""
        assert self._loop is not None
        self._loop.remove_reader(conn.fileno())
        try:
            name = str(json.loads(conn.recv(1024))["worker"])
            self._check_name(name)
            offer = {"capacity": self.capacity, "transport": self.TRANSPORT}
            conn.send(json.dumps(offer).encode())
        except (OSError, ValueError, KeyError, TypeError, TradewireError) as exc:
            self._reject(conn, [], exc)
            return
        self._loop.add_reader(conn.fileno(), self._on_channels, conn, name)

    def _on_channels(self, conn: socket.socket, name: str) -> None:
        """Step 2: attach to the channels the worker made, and acknowledge."""
        assert self._loop is not None
        self._loop.remove_reader(conn.fileno())
        self._door_done(conn)
        fds: list[int] = []
        try:
            msg, fds, _, _ = socket.recv_fds(conn, 1024, 4)
            if not msg:
                raise TradewireError("closed before its channels")
            self._check_name(name)
            down, up, give = self._gateway_channels(name, json.loads(msg), fds)
        except (OSError, ValueError, KeyError, TypeError, TradewireError) as exc:
            self._reject(conn, fds, exc)
            return
        peer = Peer(name, conn, down, up)
        self._peers[name] = peer
        if up.fd is not None:
            self._loop.add_reader(up.fd, self._on_wake, up, peer)
        self._loop.add_reader(conn.fileno(), self._on_peer_eof, peer)
        try:
            socket.send_fds(conn, [b"ok"], give)
        except OSError:  # gone already (or not reading): the EOF handler cannot be relied on
            self._drop_peer(peer, self._loop, quiet=True)
            return
        finally:
            for fd in give:  # the worker's ends: the gateway keeps none of them
                os.close(fd)
        log.info("worker %s joined %s", name, self.dir)

    def _door_done(self, conn: socket.socket) -> None:
        if self._door is not None:
            self._door.done(conn)

    def _check_name(self, name: str) -> None:
        if name in self._peers or not NAME.match(name):
            raise TradewireError(f"bad or duplicate worker name {name!r}")

    def _reject(self, conn: socket.socket, fds: list[int], exc: Exception) -> None:
        log.warning("rejected a worker on %s: %s", self.dir, exc)
        if self._loop is not None:
            self._loop.remove_reader(conn.fileno())
        self._door_done(conn)
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        conn.close()

    def _on_peer_eof(self, peer: Peer) -> None:
        """The worker closed its socket or died: drain what it sent, then forget it."""
        with contextlib.suppress(BlockingIOError):
            if peer.conn.recv(16):
                return
        batch: list[tuple[str, bytes]] = []
        self._drain(peer.up, peer, batch, 1 << 30)
        self._dispatch(batch, peer.name)
        if self._loop is not None and not peer.gone:
            self._drop_peer(peer, self._loop)
            self._forget_worker()

    def _drop_peer(self, peer: Peer, loop: asyncio.AbstractEventLoop, quiet: bool = False) -> None:
        peer.gone = True
        self._peers.pop(peer.name, None)
        loop.remove_reader(peer.conn.fileno())
        if peer.up.fd is not None:
            loop.remove_reader(peer.up.fd)
        peer.conn.close()
        peer.up.close()
        peer.down.close()
        if not quiet:
            log.info("worker %s left %s", peer.name, self.dir)

    # -- worker ------------------------------------------------------------------------
    async def _start_worker(self) -> None:
        assert self._loop is not None
        assert self.worker is not None
        if self.dir.exists():  # missing: no gateway yet, said by join as ever
            private_dir(self.dir)
        try:
            self._sock, self._down, self._up = await join(
                self._sock_path,
                self.worker,
                self.TRANSPORT,
                self.capacity,
                self._worker_channels,
                self._welcomed,
                self._hello_sent,
            )
        except TradewireError:
            await self._teardown()
            raise
        self.connected = True
        if self._down.fd is not None:
            self._loop.add_reader(self._down.fd, self._on_wake, self._down)
        self._loop.add_reader(self._sock.fileno(), self._on_gateway_eof)

    async def _rejoin(self) -> None:
        delay = 0.1
        while not self._stopping:
            await self._teardown()
            await asyncio.sleep(delay)
            try:
                await self.start()
            except TradewireError:
                delay = min(delay * 2, 2.0)
                continue
            log.warning("worker %s rejoined the gateway at %s", self.worker, self.dir)
            break
        self._rejoin_task = None

    def _on_gateway_eof(self) -> None:
        """The gateway went away: stop publishing (drops are counted) and stop watching."""
        assert self._sock is not None
        with contextlib.suppress(BlockingIOError):
            if self._sock.recv(16):
                return
        self.connected = False
        if self._loop is not None:
            self._loop.remove_reader(self._sock.fileno())
            if not self._stopping and self._rejoin_task is None:
                # A restarted gateway must find its workers again: join it when it is back.
                self._rejoin_task = self._loop.create_task(self._rejoin())
