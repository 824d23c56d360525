"""Fault models for the simulated broker: what can go wrong between a client and Alpaca.

All knobs are off by default and mutable while the server runs, so a test can turn a
fault on for exactly the requests it cares about.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal


@dataclass(slots=True)
class FaultModel:
    """Knobs the broker consults on every HTTP request.

    Attributes:
        latency_s: Added before every response.
        error_5xx_rate: Probability (seeded) that a request gets ``error_status`` instead.
        drop_connection_after_requests: Close the TCP connection without a response on the
            Nth request from now (once).
        stall_next_requests: The next N requests never get a response: clients must time out.
        accept_then_fail_next: The next N order POSTs are booked, but the response is lost:
            a 504, or a dropped connection, per ``accept_then_fail_mode``.
        reject_next_with: ``(status, code, message)`` answered to the next request.
    """

    latency_s: float = 0.0
    error_5xx_rate: float = 0.0
    error_status: int = 500
    drop_connection_after_requests: int | None = None
    stall_next_requests: int = 0
    accept_then_fail_next: int = 0
    accept_then_fail_mode: Literal["504", "drop"] = "504"
    reject_next_with: tuple[int, int, str] | None = None
    seed: int = 0
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def take_drop(self) -> bool:
        n = self.drop_connection_after_requests
        if n is None:
            return False
        if n <= 1:
            self.drop_connection_after_requests = None
            return True
        self.drop_connection_after_requests = n - 1
        return False

    def take_stall(self) -> bool:
        if self.stall_next_requests > 0:
            self.stall_next_requests -= 1
            return True
        return False

    def take_5xx(self) -> bool:
        return self.error_5xx_rate > 0 and self.rng.random() < self.error_5xx_rate

    def take_reject(self) -> tuple[int, int, str] | None:
        reject, self.reject_next_with = self.reject_next_with, None
        return reject

    def take_accept_then_fail(self) -> bool:
        if self.accept_then_fail_next > 0:
            self.accept_then_fail_next -= 1
            return True
        return False
