"""A worker that speaks the shared-memory registry's join by hand, so a test can lie in it:
pass a pipe for an eventfd, leave its memfds unsealed and shrink them later, or write bytes
straight into its ring. Everything it hands over is a real descriptor."""

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


@dataclass(eq=False)
class RawWorker:
    sock: socket.socket
    fds: list[int]  # down memfd, down wake, up memfd, up wake (as passed)
    size: int
    down: ShmRing
    up_map: mmap.mmap
    ack: bytes = b""
    extra: list[int] = field(default_factory=list)  # other ends (a pipe's read end)

    @classmethod
    async def join(
        cls,
        bus: str,
        worker: str,
        *,
        size: int = 1 << 16,
        seal: bool = True,
        down_wake: str = "eventfd",
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
        if down_wake == "pipe":
            r, w = os.pipe()
            down_efd, extra = w, [r]
        else:
            down_efd = os.eventfd(0, os.EFD_NONBLOCK)
        up_efd = os.eventfd(0, os.EFD_NONBLOCK)
        fds = [mems[0], down_efd, mems[1], up_efd]
        hello = {"size": size if claim is None else claim}
        socket.send_fds(sock, [json.dumps(hello).encode()], fds)
        ack = await asyncio.wait_for(loop.sock_recv(sock, 16), 5)
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
        os.eventfd_write(self.fds[3], 1)

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
