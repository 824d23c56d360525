"""Socket options for the feed and order connections, applied to each new connection."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from tradewire.tuning.outcome import Outcome, os_error

SO_BUSY_POLL = getattr(socket, "SO_BUSY_POLL", 46)  # Linux; Python does not export it


@dataclass(frozen=True, slots=True)
class SocketOptions:
    tcp_nodelay: bool = True
    so_rcvbuf: int | None = None
    so_sndbuf: int | None = None
    so_busy_poll_us: int | None = None

    def apply(self, sock: socket.socket) -> list[Outcome]:
        """Set each option; what the kernel refused is reported, never raised."""
        wanted: list[tuple[str, int, int, int]] = []
        if self.tcp_nodelay:
            wanted.append(("TCP_NODELAY", socket.IPPROTO_TCP, socket.TCP_NODELAY, 1))
        if self.so_rcvbuf:
            wanted.append(("SO_RCVBUF", socket.SOL_SOCKET, socket.SO_RCVBUF, self.so_rcvbuf))
        if self.so_sndbuf:
            wanted.append(("SO_SNDBUF", socket.SOL_SOCKET, socket.SO_SNDBUF, self.so_sndbuf))
        if self.so_busy_poll_us:
            wanted.append(("SO_BUSY_POLL", socket.SOL_SOCKET, SO_BUSY_POLL, self.so_busy_poll_us))
        out: list[Outcome] = []
        for name, level, opt, value in wanted:
            try:
                sock.setsockopt(level, opt, value)
            except OSError as exc:
                out.append(Outcome(f"socket {name}={value}", "denied", os_error(exc)))
                continue
            got = sock.getsockopt(level, opt)
            # The kernel doubles SO_*BUF for bookkeeping and caps it at net.core.*mem_max.
            detail = f"kernel reports {got}" if got != value else ""
            out.append(Outcome(f"socket {name}={value}", "applied", detail))
        return out
