"""shm:// (the default): one gateway, N workers, over plain mmap rings + eventfd.

Measured against iceoryx2 (:mod:`tradewire.bus.iceoryx`, opt-in) and pyzmq over ``ipc://``:
as buses they tie at p50 one way; end to end through a gateway the ring was faster (one
worker p50 347/414 µs vs 487/682; eight 3.7/1.7 ms vs 10.8/3.1 ms; docs/performance.md,
issue 13), and it needs nothing beyond the standard library.

* One single-producer/single-consumer byte ring per direction per worker, in ``memfd``
  memory, each with an ``eventfd`` to wake its reader; the worker creates all four and
  passes them to the gateway with ``SCM_RIGHTS`` in its hello
  (:mod:`tradewire.bus.shm_registry`), so no ring file can be left behind by a crash.
* Record: ``u32 payload length, u16 subject length, subject, payload``, 8-byte aligned;
  head/tail are monotonically growing u64 byte positions on separate cache lines. Stores
  are ordered by x86-64 TSO; this module is meant for x86-64 Linux.
* A busy-polling reader sets a flag in its ring's header so the writer skips the eventfd.
* The reader trusts nothing the writer put in the mapping (a worker may be hostile): a head
  outside ``[tail, tail + size]`` or a record that overruns the ring or the head is
  :class:`~tradewire.bus.shm_channels.ChannelFault` (the registry ends that worker); a
  record whose subject is not ASCII is skipped and counted, and reading goes on after it.
  Each check is a comparison or two per record, so the drain stays O(1) per record.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import struct
from typing import Any

from tradewire.bus.shm_channels import ChannelFault
from tradewire.bus.shm_checks import RING_SEALS, eventfd, sealed_memfd
from tradewire.bus.shm_registry import RegistryBus
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
        """Whether the reader spins (so the writer need not signal the eventfd)."""
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
    def __init__(self, ring: ShmRing, efd: int, max_waiting: int = 0) -> None:
        self.ring, self.efd, self.max_waiting = ring, efd, max_waiting

    def put(self, subject: bytes, payload: bytes) -> bool:
        if not self.ring.put(subject, payload, self.max_waiting):
            return False
        if not self.ring.busy_poll:
            try:
                os.eventfd_write(self.efd, 1)
            except OSError as exc:  # EAGAIN: the reader filled the counter on purpose
                raise ChannelFault(f"wake-up write failed: {exc}") from exc
        return True

    def close(self) -> None:
        self.ring.close()
        os.close(self.efd)


class _RingIn:
    def __init__(self, ring: ShmRing, efd: int, busy_poll: bool) -> None:
        self.ring, self.efd = ring, efd
        ring.set_busy_poll(busy_poll)
        self.fd: int | None = None if busy_poll else efd
        self._word = bytearray(8)
        self._nowait = True  # RWF_NOWAIT works on this kernel's eventfd (until it says not)

    @property
    def skipped(self) -> int:
        return self.ring.skipped

    def clear_wake(self) -> None:
        # The eventfd's file (and its O_NONBLOCK) is shared with the process that made it,
        # which may clear O_NONBLOCK and empty the counter first: RWF_NOWAIT makes this
        # read non-blocking whatever the file's flags say.
        if self._nowait:
            try:
                os.preadv(self.efd, [self._word], -1, os.RWF_NOWAIT)
            except BlockingIOError:
                pass
            except OSError:  # EOPNOTSUPP: an older kernel; O_NONBLOCK is all there is
                self._nowait = False
            else:
                return
        with contextlib.suppress(BlockingIOError):
            os.eventfd_read(self.efd)

    def drain(self, sink: list[tuple[str, bytes]], limit: int) -> int:
        return self.ring.drain(sink, limit)

    def close(self) -> None:
        self.ring.close()
        os.close(self.efd)


class RingBus(RegistryBus):
    """The :class:`tradewire.bus.base.Bus` over mmap rings: see the module docstring."""

    TRANSPORT = "ring"

    def _worker_channels(
        self, capacity: int
    ) -> tuple[_RingIn, _RingOut, dict[str, Any], list[int]]:
        size = ring_bytes(capacity, self.max_payload)
        flags = os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING
        mems = [os.memfd_create(f"tw-{self.name}-{self.worker}-{d}", flags) for d in ("down", "up")]
        efds = [os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC) for _ in range(2)]
        down = _RingIn(ShmRing(mems[0], size, create=True), efds[0], self.busy_poll)
        up = _RingOut(ShmRing(mems[1], size, create=True), efds[1])
        for mem in mems:  # the gateway maps only rings that can never change size
            fcntl.fcntl(mem, fcntl.F_ADD_SEALS, RING_SEALS)
        return down, up, {"size": size}, [mems[0], efds[0], mems[1], efds[1]]

    def _hello_sent(self, fds: list[int]) -> None:
        if fds:
            os.close(fds[0])  # the memfds: the mappings keep the memory
            os.close(fds[2])

    def _gateway_channels(
        self, worker: str, hello: dict[str, Any], fds: list[int]
    ) -> tuple[_RingOut, _RingIn]:
        size = int(hello["size"])
        if len(fds) != 4 or size < 64 or size > _MAX_RING or size & (size - 1):
            raise TradewireError(f"bad ring hello {hello!r} with {len(fds)} descriptors")
        down_mem, down_efd, up_mem, up_efd = fds
        for mem in (down_mem, up_mem):
            sealed_memfd(mem, _DATA + size)
        for efd in (down_efd, up_efd):
            eventfd(efd)
        down = ShmRing(down_mem, size, create=False)
        try:
            up = ShmRing(up_mem, size, create=False)
        except OSError:
            down.close()
            raise
        os.close(down_mem)  # the mappings keep the memory
        os.close(up_mem)
        # The worker sized its ring in bytes; the gateway's capacity (messages) bounds what
        # waits in it, as the subscriber buffer does on iceoryx2.
        return _RingOut(down, down_efd, self.capacity), _RingIn(up, up_efd, self.busy_poll)
