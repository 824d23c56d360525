"""A repeating timer on the event loop that keeps a single handle."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Every:
    """A repeating timer that keeps one handle (the node's timer list must not grow)."""

    __slots__ = ("_callback", "_handle", "_interval", "_loop")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, interval_s: float, callback: Callable[[], None]
    ) -> None:
        self._loop = loop
        self._interval = interval_s
        self._callback = callback
        self._handle: asyncio.TimerHandle | None = loop.call_later(interval_s, self._tick)

    def _tick(self) -> None:
        try:
            self._callback()
        except Exception:
            log.exception("timer callback %r raised", self._callback)
        if self._handle is not None:
            self._handle = self._loop.call_later(self._interval, self._tick)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class LoopClock:
    """The engine core's clock on an event loop (engine.ports.Clock): the wall clock for
    strategies, the monotonic clock for intervals, the running loop for timers."""

    time_ns = staticmethod(time.time_ns)
    monotonic = staticmethod(time.monotonic)
    monotonic_ns = staticmethod(time.monotonic_ns)

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(delay_s, callback)
