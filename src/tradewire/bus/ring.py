"""shm:// (the default): one gateway, N workers, over plain mmap rings + wake-up sockets.

Measured against iceoryx2 (:mod:`tradewire.bus.iceoryx`, opt-in) and pyzmq over ``ipc://``:
as buses they tie at p50 one way; end to end through a gateway the ring was faster (one
worker p50 347/414 µs vs 487/682; eight 3.7/1.7 ms vs 10.8/3.1 ms; docs/performance.md,
issue 13), and it needs nothing beyond the standard library.

* One single-producer/single-consumer byte ring per direction per worker, in ``memfd``
  memory; the worker creates both, seals them, and passes them to the gateway with
  ``SCM_RIGHTS`` in its hello (:mod:`tradewire.bus.shm_registry`), so no ring file can be
  left behind by a crash. Each ring's reader is woken over a datagram socket pair the
  *gateway* makes and hands the worker one end of with its ``ok``
  (:mod:`tradewire.bus.shm_wake`: a worker's eventfd, shared, could block the gateway).
* Record: ``u32 payload length, u16 subject length, subject, payload``, 8-byte aligned;
  head/tail are monotonically growing u64 byte positions on separate cache lines. Stores
  are ordered by x86-64 TSO; this module is meant for x86-64 Linux.
* A busy-polling reader sets a flag in its ring's header so the writer skips the wake-up.
* The reader trusts nothing the writer put in the mapping (a worker may be hostile): a head
  outside ``[tail, tail + size]`` or a record that overruns the ring or the head is
  :class:`~tradewire.bus.shm_channels.ChannelFault` (the registry ends that worker); a
  record whose subject is not ASCII is skipped and counted, and reading goes on after it.
  Each check is a comparison or two per record, so the drain stays O(1) per record.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
from typing import Any

from tradewire.bus.shm_channels import ChannelFault, Inbound, Outbound
from tradewire.bus.shm_checks import RING_SEALS, close_all, sealed_memfd
from tradewire.bus.shm_registry import RegistryBus
from tradewire.bus.shm_wake import Waker, WakeReader, adopt_all, wake_pair
from tradewire.errors import TradewireError

# head (bytes) on the writer's cache line; tail (bytes) and records read on the reader's.
_HEAD, _TAIL, _READ, _FLAGS, _DATA = 0, 64, 72, 128, 192
_REC = struct.Struct("<IH")
_REC_SIZE = _REC.size
_U64 = struct.Struct("<Q")
_WRAP = 0xFFFFFFFF
_FLAG_BUSY_POLL = 1
_MAX_RING = 1 << 30  # a worker's claim beyond this is refused, not mapped


def ring_bytes(capacity: int, max_payload: int) -> int:
    """The data size for ``capacity`` typical (4 KiB) frames: a power of two, ≥ 2 max records."""
    want = max(capacity * 4096, 2 * (max_payload + 512))
    return 1 << (want - 1).bit_length()


class ShmRing:
    """A single-producer/single-consumer byte ring over a shared mapping (one end of it)."""

    def __init__(self, fd: int, size: int, *, create: bool) -> None:
        if create:
            os.ftruncate(fd, _DATA + size)
        self._mm = mmap.mmap(fd, _DATA + size)
        self._buf = memoryview(self._mm)
        self.size = size
        self._mask = size - 1
        self._head = _U64.unpack_from(self._buf, _HEAD)[0]
        self._tail = _U64.unpack_from(self._buf, _TAIL)[0]
        self._read = _U64.unpack_from(self._buf, _READ)[0]
        self._written = self._read  # records this end wrote (a fresh ring: none waiting)
        self.skipped = 0  # records read but refused (a subject that is not ASCII)

    @property
    def busy_poll(self) -> bool:
        """Whether the reader spins (so the writer need not send a wake-up)."""
        return bool(_U64.unpack_from(self._buf, _FLAGS)[0] & _FLAG_BUSY_POLL)

    def set_busy_poll(self, on: bool) -> None:
        _U64.pack_into(self._buf, _FLAGS, _FLAG_BUSY_POLL if on else 0)

    def put(self, subject: bytes, payload: bytes, max_waiting: int = 0) -> bool:
        """Append one record; False (nothing written) when the ring lacks room, or when
        ``max_waiting`` records (the writer's own bound, if set) are waiting already."""
        buf, size = self._buf, self.size
        if max_waiting and self._written - _U64.unpack_from(buf, _READ)[0] >= max_waiting:
            return False
        body = _REC.size + len(subject) + len(payload)
        need = (body + 7) & ~7
        head = self._head
        off = head & self._mask
        rem = size - off
        skip = rem if rem < need else 0
        if head + skip + need - _U64.unpack_from(buf, _TAIL)[0] > size:
            return False
        if skip:
            _REC.pack_into(buf, _DATA + off, _WRAP, 0)
            head += skip
            off = 0
        pos = _DATA + off
        _REC.pack_into(buf, pos, len(payload), len(subject))
        pos += _REC.size
        buf[pos : pos + len(subject)] = subject
        pos += len(subject)
        buf[pos : pos + len(payload)] = payload
        self._head = head + need
        self._written += 1
        _U64.pack_into(buf, _HEAD, self._head)
        return True

    def drain(self, sink: list[tuple[str, bytes]], limit: int = 1 << 30) -> int:
        """Move up to ``limit`` records into ``sink``; returns how many.

        Raises :class:`ChannelFault` when the ring holds what no writer of this module
        makes (the records before it are in ``sink``); the ring is unusable after that.
        """
        buf, n, size, mask, unpack = self._buf, 0, self.size, self._mask, _REC.unpack_from
        head = _U64.unpack_from(buf, _HEAD)[0]
        tail = self._tail
        if not tail <= head <= tail + size:
            raise ChannelFault(f"ring head {head} outside [{tail}, {tail} + {size}]")
        # From here every record must end at or before the head, so none is longer than the
        # ring; one that runs past the ring's end reads short (its own bytes), never outside.
        while tail < head and n < limit:
            off = tail & mask
            plen, slen = unpack(buf, _DATA + off)
            if plen == _WRAP:
                tail += size - off
                if tail > head:
                    raise ChannelFault(f"ring wrap mark at {tail - size + off} past head {head}")
                continue
            end = tail + ((_REC_SIZE + slen + plen + 7) & ~7)
            if end > head:
                raise ChannelFault(f"ring record of {end - tail} B at {tail} overruns {head}")
            tail = end
            pos = _DATA + off + _REC_SIZE
            try:
                subject = str(buf[pos : pos + slen], "ascii")
            except UnicodeDecodeError:
                self.skipped += 1  # this record only: the next one is where it says
                continue
            sink.append((subject, bytes(buf[pos + slen : pos + slen + plen])))
            n += 1
        self._tail = tail
        self._read += n
        _U64.pack_into(buf, _READ, self._read)
        _U64.pack_into(buf, _TAIL, tail)
        return n

    def close(self) -> None:
        self._buf.release()
        self._mm.close()


class _RingOut:
    def __init__(self, ring: ShmRing, waker: Waker | None, max_waiting: int = 0) -> None:
        self.ring, self.waker, self.max_waiting = ring, waker, max_waiting

    @property
    def wakes_skipped(self) -> int:
        return self.waker.skipped if self.waker is not None else 0

    def put(self, subject: bytes, payload: bytes) -> bool:
        if not self.ring.put(subject, payload, self.max_waiting):
            return False
        if self.waker is not None and not self.ring.busy_poll:
            self.waker.wake()  # never blocks: see tradewire.bus.shm_wake
        return True

    def close(self) -> None:
        self.ring.close()
        if self.waker is not None:
            self.waker.close()


class _RingIn:
    def __init__(self, ring: ShmRing, wake: WakeReader | None, busy_poll: bool) -> None:
        self.ring, self.wake = ring, wake
        self.busy_poll = busy_poll
        ring.set_busy_poll(busy_poll)
        self.fd: int | None = None if busy_poll or wake is None else wake.fd

    def attach(self, wake: WakeReader) -> None:
        """The wake-up arrived (a worker gets it with the gateway's ``ok``)."""
        self.wake = wake
        self.fd = None if self.busy_poll else wake.fd

    @property
    def skipped(self) -> int:
        return self.ring.skipped

    def clear_wake(self) -> None:
        if self.wake is not None:
            self.wake.clear()

    def drain(self, sink: list[tuple[str, bytes]], limit: int) -> int:
        return self.ring.drain(sink, limit)

    def close(self) -> None:
        self.ring.close()
        if self.wake is not None:
            self.wake.close()


class RingBus(RegistryBus):
    """The :class:`tradewire.bus.base.Bus` over mmap rings: see the module docstring."""

    TRANSPORT = "ring"

    def _worker_channels(
        self, capacity: int
    ) -> tuple[_RingIn, _RingOut, dict[str, Any], list[int]]:
        size = ring_bytes(capacity, self.max_payload)
        flags = os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING
        mems = [os.memfd_create(f"tw-{self.name}-{self.worker}-{d}", flags) for d in ("down", "up")]
        down = _RingIn(ShmRing(mems[0], size, create=True), None, self.busy_poll)
        up = _RingOut(ShmRing(mems[1], size, create=True), None)
        for mem in mems:  # the gateway maps only rings that can never change size
            fcntl.fcntl(mem, fcntl.F_ADD_SEALS, RING_SEALS)
        return down, up, {"size": size}, mems

    def _hello_sent(self, fds: list[int]) -> None:
        for fd in fds:  # the memfds: the mappings keep the memory
            os.close(fd)

    def _welcomed(self, down: Inbound, up: Outbound, fds: list[int]) -> None:
        """The gateway's ends of the wake-ups came with its ``ok``: (down, up)."""
        if len(fds) != 2:
            close_all(fds)
            raise TradewireError(f"the gateway sent {len(fds)} wake-up descriptors, not 2")
        down_wake, up_wake = adopt_all(fds)
        assert isinstance(down, _RingIn)
        assert isinstance(up, _RingOut)
        down.attach(WakeReader(down_wake))
        up.waker = Waker(up_wake)

    def _gateway_channels(
        self, worker: str, hello: dict[str, Any], fds: list[int]
    ) -> tuple[_RingOut, _RingIn, list[int]]:
        size = int(hello["size"])
        if len(fds) != 2 or size < 64 or size > _MAX_RING or size & (size - 1):
            raise TradewireError(f"bad ring hello {hello!r} with {len(fds)} descriptors")
        down_mem, up_mem = fds
        for mem in (down_mem, up_mem):
            sealed_memfd(mem, _DATA + size)
        down = ShmRing(down_mem, size, create=False)
        try:
            up = ShmRing(up_mem, size, create=False)
        except OSError:
            down.close()
            raise
        os.close(down_mem)  # the mappings keep the memory
        os.close(up_mem)
        # The wake-ups are the gateway's own (tradewire.bus.shm_wake): the worker gets the
        # other ends, and nothing it does to them can make the gateway's calls wait.
        (down_keep, down_give), (up_keep, up_give) = wake_pair(), wake_pair()
        give = [down_give.detach(), up_give.detach()]
        # The worker sized its ring in bytes; the gateway's capacity (messages) bounds what
        # waits in it, as the subscriber buffer does on iceoryx2.
        out = _RingOut(down, Waker(down_keep), self.capacity)
        return out, _RingIn(up, WakeReader(up_keep), self.busy_poll), give
