"""Keep an event loop polling instead of sleeping in ``epoll_wait``.

A loop with nothing ready blocks in ``epoll_wait`` and the kernel has to wake its thread when
a packet lands; on these VMs that wake-up is tens of microseconds, more than the whole hot
path. A callback that re-schedules itself keeps one callback always ready, so the loop polls
with a zero timeout and picks a frame up on its next turn. It costs a whole core.
"""

from __future__ import annotations

import asyncio


class BusyPoller:
    """Start with :meth:`start`, stop with :meth:`stop`; counts its spins for the report."""

    __slots__ = ("_handle", "_loop", "spins")

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.Handle | None = None  # the next spin; None when stopped
        self.spins = 0

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop or asyncio.get_running_loop()
        self._handle = self._loop.call_soon(self._spin)

    def _spin(self) -> None:
        self.spins += 1
        assert self._loop is not None
        self._handle = self._loop.call_soon(self._spin)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    @property
    def running(self) -> bool:
        return self._handle is not None
