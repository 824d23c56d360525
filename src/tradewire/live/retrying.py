"""Repeating a broker read on transient errors until a deadline (start-up, reconciliation).

A read is safe to repeat; start-up must not give up on one 503.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tradewire.errors import RetryableBrokerError

log = logging.getLogger("tradewire.live.reconciler")
T = TypeVar("T")


async def retrying(call: Callable[[], Awaitable[T]], *, deadline: float, what: str) -> T:
    """Retry a read on transient broker errors (5xx, 429, timeouts) until ``deadline``.

    Start-up must not give up on one 503: a read is safe to repeat, so repeat it with
    backoff (honouring Retry-After) until the configured time is spent.
    """
    delay = 0.1
    while True:
        try:
            return await call()
        except RetryableBrokerError as exc:
            wait = exc.retry_after or delay
            if time.monotonic() + wait > deadline:
                raise RetryableBrokerError(f"{what}: still failing after retries: {exc}") from exc
            log.warning("%s failed (%s); retrying in %.2fs", what, exc, wait)
            await asyncio.sleep(wait)
            delay = min(delay * 2, 2.0)
