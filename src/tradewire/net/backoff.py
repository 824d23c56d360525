"""Reconnect delays as a pure generator (after websockets' ``client.backoff()``).

The caller sleeps; the generator only decides how long, so tests step through it without
waiting. Full jitter spreads many clients apart after a venue-wide outage.
"""

from __future__ import annotations

import random
from collections.abc import Iterator


def backoff(
    *,
    initial_s: float = 0.1,
    factor: float = 2.0,
    max_s: float = 30.0,
    jitter: float = 1.0,
    rng: random.Random | None = None,
) -> Iterator[float]:
    """Yield delays: ``initial_s * factor**n`` capped at ``max_s``, with ``jitter`` ∈ [0, 1].

    ``jitter=1`` is "full jitter" (uniform in [0, delay]); ``jitter=0`` is deterministic.
    The first delay is small but not zero, so a flapping server is never hammered.
    """
    if initial_s <= 0 or factor < 1 or max_s < initial_s or not 0 <= jitter <= 1:
        raise ValueError(
            "backoff needs initial_s > 0, factor >= 1, max_s >= initial_s, 0 <= jitter <= 1"
        )
    rng = rng or random.Random()
    delay = initial_s
    while True:
        yield delay * (1 - jitter) + rng.uniform(0, delay * jitter)
        delay = min(delay * factor, max_s)
