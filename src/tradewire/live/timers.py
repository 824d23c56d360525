"""A repeating timer on the event loop that keeps a single handle."""

from __future__ import annotations

import asyncio
import logging
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
