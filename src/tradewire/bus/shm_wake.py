"""Wake-ups a worker cannot block: a datagram socket pair the gateway makes, one per direction.

Why not the eventfd the worker used to pass in its hello
--------------------------------------------------------
A descriptor passed with ``SCM_RIGHTS`` shares its open file description, and with it its
flags: the worker could clear ``O_NONBLOCK`` on the eventfd the gateway writes (``F_SETFL``
acts on the shared description) and fill its counter to ``2**64 - 2``; the gateway's next
wake-up ``write`` then slept for ever, and its loop with it (feed, trade stream, kill switch).
``RWF_NOWAIT`` is EOPNOTSUPP for eventfd writes, and polling for ``POLLOUT`` first leaves a
window in which the worker fills the counter again. The worker could also empty the counter
between the gateway's wake and its read, with the same result for the read side.

So the gateway makes an ``AF_UNIX``/``SOCK_DGRAM`` socket pair per direction
(:func:`wake_pair`), keeps one end (its own description: nothing the worker does changes its
flags) and hands the worker the other with its ``ok``. It writes on its own ``O_NONBLOCK``
end and reads with ``MSG_DONTWAIT``; neither ever sleeps, whatever the worker does:

* a send that finds the worker's queue full (EAGAIN: the worker has not read ~270 wake-ups)
  is skipped and counted (a wake-up is pending anyway; the ring's own bound drops frames);
* a send that fails otherwise (the worker closed its end: ECONNREFUSED) is a
  :class:`~tradewire.bus.shm_channels.ChannelFault`, which ends that worker only;
* a read drains at most :data:`DRAIN` datagrams per turn, so a worker that sends without
  pause costs the gateway a bounded turn, never the loop; a closed peer of a datagram
  socket is not readable, so it cannot make the loop spin either.

Cost, measured (``python -m tradewire.bench.shm_wake``: 100k publishes of a 200-byte frame,
best of 5, eventfd and socket alternating in one run, 2 shared vCPUs, 2026-12-04; µs per
frame, ring put included; docs/performance.md, "shm wake-ups a worker cannot block"):

==========================  =======  =======  ======
reader, rings               eventfd  socket   extra
==========================  =======  =======  ======
keeps up, 1                 0.994    1.272    +0.28
keeps up, 8                 6.996    9.558    +2.56
lagging (EAGAIN path), 1    0.959    1.564    +0.60
lagging (EAGAIN path), 8    6.938    11.898   +4.96
==========================  =======  =======  ======

~0.3 µs more per worker woken: the price of a gateway no worker can freeze. ``os.write`` on
the gateway's own non-blocking end is used rather than ``socket.send`` (~70 ns cheaper).
"""

from __future__ import annotations

import contextlib
import os
import socket

from tradewire.bus.shm_channels import ChannelClosed, ChannelFault
from tradewire.errors import TradewireError

# Datagrams read per wake-up at most: more than the kernel queues on one pair (~280: the
# sender's SO_SNDBUF), so one clear empties the queue as one eventfd read did (a remainder
# would keep the end readable and start a second drain of the same ring); and a bound, so a
# peer sending without pause costs a bounded turn.
DRAIN = 1024
_SIGNAL = b"\0"


def wake_pair() -> tuple[socket.socket, socket.socket]:
    """A fresh wake-up: (the end this process keeps, the end to hand the other process)."""
    kind = socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC
    return socket.socketpair(socket.AF_UNIX, kind)


def adopt(fd: int) -> socket.socket:
    """The end of a wake-up another process handed over, as a socket that owns ``fd``;
    refused (and ``fd`` closed) unless it is a unix datagram socket."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError as exc:
        os.close(fd)
        raise TradewireError(f"wake-up descriptor {fd}: {exc}") from exc
    if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_DGRAM:
        sock.close()
        raise TradewireError(f"wake-up descriptor is {sock.family!r}/{sock.type!r}, not unix dgram")
    sock.setblocking(False)  # this side's reads never wait either (MSG_DONTWAIT does the rest)
    return sock


def adopt_all(fds: list[int]) -> list[socket.socket]:
    """:func:`adopt` each of ``fds``; on a refusal every one of them is closed."""
    socks: list[socket.socket] = []
    try:
        for fd in fds:
            socks.append(adopt(fd))  # noqa: PERF401 - each adopted one is closed on a refusal
    except TradewireError:
        for sock in socks:
            sock.close()
        for fd in fds[len(socks) + 1 :]:
            with contextlib.suppress(OSError):
                os.close(fd)
        raise
    return socks


class Waker:
    """The sending end of a wake-up: :meth:`wake` never blocks."""

    def __init__(self, sock: socket.socket) -> None:
        if sock.getblocking():
            raise TradewireError("a wake-up's sending end must be non-blocking")
        self.sock = sock
        self._fd = sock.fileno()
        self.skipped = 0  # wake-ups not sent because the reader's queue was full

    def wake(self) -> None:
        # ``write`` on this process's own O_NONBLOCK end is ``send(MSG_DONTWAIT)`` in the
        # kernel (sock_write_iter), ~70 ns cheaper from Python than ``socket.send``; no
        # other process shares this end's open file description, so nobody can clear it.
        try:
            os.write(self._fd, _SIGNAL)
        except BlockingIOError:
            self.skipped += 1  # the reader has ~270 unread: it will look at its ring anyway
        except (ConnectionRefusedError, BrokenPipeError, ConnectionResetError) as exc:
            raise ChannelClosed(f"its wake-up is closed ({exc.strerror})") from exc
        except OSError as exc:  # anything else: that reader broke its channel
            raise ChannelFault(f"wake-up send failed: {exc}") from exc

    def close(self) -> None:
        self.sock.close()


class WakeReader:
    """The receiving end of a wake-up: what ``loop.add_reader`` watches."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self._recv = sock.recv

    def clear(self) -> None:
        """Consume pending wake-ups (at most :data:`DRAIN`) without ever waiting."""
        recv = self._recv
        for _ in range(DRAIN):
            try:
                recv(16, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            except OSError as exc:
                raise ChannelFault(f"wake-up read failed: {exc}") from exc

    def close(self) -> None:
        self.sock.close()
