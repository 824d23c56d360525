"""Checks on what another local process hands the shared-memory bus, before it is trusted.

A same-machine bus trusts the kernel for its liveness signal, but not the processes at the
other end: any process of this machine may make the registry's folder first, connect to the
registry socket, or pass descriptors that are not what it says. Each check here turns such
a thing into one :class:`~tradewire.errors.TradewireError` line for the caller to refuse
with, so that a hostile or broken peer ends its own connection and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import stat
import struct
from pathlib import Path

from tradewire.errors import ConfigError, TradewireError

_UCRED = struct.Struct("3i")  # pid, uid, gid


def private_dir(path: Path) -> None:
    """Make ``path`` 0700 if it is missing; refuse it if someone else could use it.

    Whoever owns or can write the folder can put their own socket where workers look for
    the gateway's (and collect every worker's ring descriptors), or unlink ours: a folder
    that another user made first, or that group or others may write, is refused.
    """
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise ConfigError(f"{path} is not a directory: refusing to use it for the shm bus")
    if st.st_uid != os.geteuid():
        raise ConfigError(
            f"{path} is owned by uid {st.st_uid}, not this process's uid {os.geteuid()}: "
            "refusing it (another user may have planted it); remove it or pick another name"
        )
    if st.st_mode & 0o022:
        raise ConfigError(
            f"{path} is writable by group or others (mode {stat.S_IMODE(st.st_mode):o}): "
            "refusing it; make it 0700 or remove it"
        )


def peer_uid(conn: socket.socket) -> int:
    """The uid of the process at the other end of a connected unix socket (SO_PEERCRED)."""
    raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    return int(_UCRED.unpack(raw)[1])


def same_user(conn: socket.socket, who: str) -> None:
    """Refuse a peer that runs as another user than this process."""
    uid = peer_uid(conn)
    if uid != os.geteuid():
        raise TradewireError(f"{who} runs as uid {uid}, not {os.geteuid()}")


RING_SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL
"""What a ring's memfd must carry before the gateway maps it: a mapping of a file that
shrinks under it raises SIGBUS in the gateway (every worker cut off, no log line)."""


def sealed_memfd(fd: int, size: int) -> None:
    """Refuse ``fd`` unless it is a memfd of exactly ``size`` bytes that can never change size."""
    try:
        seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)
    except OSError as exc:
        raise TradewireError(f"ring descriptor is not a sealable memfd: {exc}") from exc
    if seals & RING_SEALS != RING_SEALS:
        raise TradewireError(
            f"ring memfd lacks F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_SEAL (seals {seals:#x})"
        )
    actual = os.fstat(fd).st_size
    if actual != size:
        raise TradewireError(f"ring memfd holds {actual} B, not the {size} B the hello says")


def close_all(fds: list[int]) -> None:
    """Close descriptors another process handed over that will not be used."""
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


async def recv_with_fds(sock: socket.socket, size: int, max_fds: int) -> tuple[bytes, list[int]]:
    """One message on the non-blocking ``sock`` and the descriptors that came with it.

    Waits on the running loop for readability (never in ``recvmsg``); a peer that sends
    more descriptors than ``max_fds`` has the rest closed by the kernel (MSG_CTRUNC)."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(sock, size, max_fds, socket.MSG_DONTWAIT)
        except BlockingIOError:
            ready: asyncio.Future[None] = loop.create_future()
            loop.add_reader(sock.fileno(), ready.set_result, None)
            try:
                await ready
            finally:
                loop.remove_reader(sock.fileno())
            continue
        return msg, fds
