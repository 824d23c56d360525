"""A worker that speaks the shared-memory registry's join by hand, so a test can lie in it:
pass wake-ups of its own, leave its memfds unsealed and shrink them later, write bytes
straight into its ring, or turn the gateway's wake-ups against it. Every descriptor is real."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import mmap
import os
import socket
import struct
from dataclasses import dataclass, field

from tradewire.bus.ring import ShmRing
from tradewire.bus.shm_registry import SHM_ROOT

# The ring's layout (tradewire.bus.ring): head at byte 0, records from byte 192, each
# ``u32 payload length, u16 subject length, subject, payload``, 8-byte aligned.
HEAD_AT, DATA_AT = 0, 192
SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL


def is_eventfd(fd: int) -> bool:
    return os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:[eventfd]"


def wake(fd: int) -> None:
    """Signal a wake-up on ``fd``, whichever kind the gateway uses."""
    if is_eventfd(fd):
        os.eventfd_write(fd, 1)
    else:
        os.write(fd, b"\0")


async def recv_fds(sock: socket.socket) -> tuple[bytes, list[int]]:
    """One message and the descriptors that came with it, on a non-blocking socket."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    loop.add_reader(sock.fileno(), ready.set_result, None)
    try:
        await ready
    finally:
        loop.remove_reader(sock.fileno())
    try:
        msg, fds, _, _ = socket.recv_fds(sock, 16, 4)
    except ConnectionError:
        return b"", []
    return msg, fds


@dataclass(eq=False)
class RawWorker:
    sock: socket.socket
    fds: list[int]  # down memfd, down wake, up memfd, up wake (this worker's copies)
    size: int
    down: ShmRing
    up_map: mmap.mmap
    ack: bytes = b""
    extra: list[int] = field(default_factory=list)  # its own wake-ups, if it passed any

    @classmethod
    async def join(
        cls,
        bus: str,
        worker: str,
        *,
        size: int = 1 << 16,
        seal: bool = True,
        own_wakes: str | None = None,
        claim: int | None = None,
    ) -> RawWorker:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sock.setblocking(False)
        await loop.sock_connect(sock, str(SHM_ROOT / f"tradewire-{bus}" / "gateway.sock"))
        await loop.sock_sendall(sock, json.dumps({"worker": worker}).encode())
        await asyncio.wait_for(loop.sock_recv(sock, 1024), 5)
        mems = [os.memfd_create(f"hostile-{d}", os.MFD_ALLOW_SEALING) for d in ("down", "up")]
        rings = [ShmRing(m, size, create=True) for m in mems]
        if seal:
            for m in mems:
                fcntl.fcntl(m, fcntl.F_ADD_SEALS, SEALS)
        extra: list[int] = []
        passed = [mems[0], mems[1]]
        if own_wakes is not None:  # as workers did before the gateway made the wake-ups
            if own_wakes == "pipe":
                r, w = os.pipe()
                extra = [r, w]
            else:
                w = os.eventfd(0, os.EFD_NONBLOCK)
                extra = [w]
            passed = [mems[0], w, mems[1], os.eventfd(0, os.EFD_NONBLOCK)]
            extra.append(passed[3])
        hello = {"size": size if claim is None else claim}
        socket.send_fds(sock, [json.dumps(hello).encode()], passed)
        ack, given = await asyncio.wait_for(recv_fds(sock), 5)
        wakes = given if len(given) == 2 else [-1, -1]  # the gateway's wake-ups: this end
        fds = [mems[0], wakes[0], mems[1], wakes[1]]
        up_map = mmap.mmap(mems[1], DATA_AT + size)
        rings[1].close()  # written by hand below, so the test can lie
        return cls(sock, fds, size, rings[0], up_map, ack, extra)

    def send(self, subject: bytes, payload: bytes) -> None:
        """Write one well-formed record (the tests stay far from the ring's wrap)."""
        self.write_raw(struct.pack("<IH", len(payload), len(subject)) + subject + payload)

    def write_raw(self, record: bytes) -> None:
        """Put ``record`` as the next bytes of the up ring and publish it (head moves on)."""
        head = struct.unpack_from("<Q", self.up_map, HEAD_AT)[0]
        off = DATA_AT + (head & (self.size - 1))
        self.up_map[off : off + len(record)] = record
        self.set_head(head + ((len(record) + 7) & ~7))

    def set_head(self, head: int) -> None:
        """Say ``head`` bytes were ever written, and wake the gateway."""
        struct.pack_into("<Q", self.up_map, HEAD_AT, head)
        wake(self.fds[3])

    def received(self) -> list[tuple[str, bytes]]:
        """What the gateway wrote into this worker's down ring so far."""
        got: list[tuple[str, bytes]] = []
        self.down.drain(got)
        return got

    def close(self) -> None:
        self.down.close()
        self.up_map.close()
        self.sock.close()
        for fd in self.fds + self.extra:
            with contextlib.suppress(OSError):
                os.close(fd)
