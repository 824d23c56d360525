"""The gateway's registry socket, and the joins under way through it.

Who may start a join, how many may be half-done at once, and for how long: the part of the
registry (:mod:`tradewire.bus.shm_registry`) that runs before a worker has said who it is.
Any local process can connect, so each limit turns a process that connects and then does
nothing useful into a count and at most a few lines, never into descriptors or memory the
gateway holds for ever, and never into a loop that spins on a socket it cannot accept from.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from pathlib import Path

from tradewire.bus.shm_checks import same_user
from tradewire.errors import TradewireError

log = logging.getLogger("tradewire.bus.shm_registry")
# Joins under way at once, and how long one may take: a process that connects and says
# nothing must not hold descriptors (and the gateway's memory) for ever.
MAX_PENDING = 64
JOIN_TIMEOUT_S = 5.0


class Door:
    """The listening socket at ``path``; each connection from this user goes to ``on_join``,
    and one still under way after :data:`JOIN_TIMEOUT_S` to ``on_expired``."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        path: Path,
        on_join: Callable[[socket.socket], None],
        on_expired: Callable[[socket.socket, Exception], None],
    ) -> None:
        self.loop, self.path = loop, path
        self._on_join, self._on_expired = on_join, on_expired
        self.pending: dict[int, socket.socket] = {}
        self.strangers = 0  # joins refused: another user's process, too many at once
        self.sock: socket.socket | None = None

    def open(self) -> None:
        """Bind the socket, refusing if a live gateway holds it (a dead one's is removed)."""
        if self.path.exists():
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                probe.connect(str(self.path))
            except OSError:
                self.path.unlink()  # a dead gateway's socket
            else:
                raise TradewireError(f"a gateway already serves {self.path.parent}")
            finally:
                probe.close()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sock.bind(str(self.path))
        self.sock = sock
        sock.listen(64)
        sock.setblocking(False)
        self.loop.add_reader(sock.fileno(), self._on_accept)

    def done(self, conn: socket.socket) -> None:
        """``conn``'s join ended (joined or refused): it no longer counts as under way."""
        if self.pending.get(conn.fileno()) is conn:
            del self.pending[conn.fileno()]

    def close(self) -> None:
        """Close joins under way and the socket, and remove the socket's path."""
        for conn in list(self.pending.values()):
            self.loop.remove_reader(conn.fileno())
            conn.close()
        self.pending.clear()
        if self.sock is not None:
            self.loop.remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def _on_accept(self) -> None:
        sock = self.sock
        if sock is None:
            return
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return
        except OSError as exc:  # EMFILE, ENFILE, ENOBUFS: a readable socket would spin
            self._refuse(f"cannot accept: {exc}; pausing joins for 1 s")
            self.loop.remove_reader(sock.fileno())
            self.loop.call_later(1.0, self._resume, sock)
            return
        try:
            same_user(conn, "a process joining")
            if len(self.pending) >= MAX_PENDING:
                raise TradewireError(f"{MAX_PENDING} joins under way already")
        except (OSError, TradewireError) as exc:
            self._refuse(str(exc))
            conn.close()
            return
        conn.setblocking(False)
        fd = conn.fileno()
        self.pending[fd] = conn
        self.loop.call_later(JOIN_TIMEOUT_S, self._expire, fd, conn)
        self._on_join(conn)

    def _refuse(self, why: str) -> None:
        self.strangers += 1  # each one logged until many: then one line per 1000
        if self.strangers <= 10 or self.strangers % 1000 == 0:
            where = self.path.parent
            log.warning("refused a join on %s (%d so far): %s", where, self.strangers, why)

    def _resume(self, sock: socket.socket) -> None:
        if sock is self.sock:
            self.loop.add_reader(sock.fileno(), self._on_accept)

    def _expire(self, fd: int, conn: socket.socket) -> None:
        if self.pending.get(fd) is conn:
            self._on_expired(conn, TradewireError(f"no join within {JOIN_TIMEOUT_S:g} s"))
