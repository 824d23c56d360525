"""Fault models for the simulated broker: what can go wrong between a client and Alpaca.

All knobs are off by default and mutable while the server runs, so a test can turn a
fault on for exactly the requests it cares about.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
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
        rate_limit_per_minute: Requests a minute per key before 429 (0 = off). Alpaca's is
            200/min; a test switches it on once its orders rest, as another user of the
            same key would spend the budget.
    """

    latency_s: float = 0.0
    error_5xx_rate: float = 0.0
    error_status: int = 500
    drop_connection_after_requests: int | None = None
    stall_next_requests: int = 0
    accept_then_fail_next: int = 0
    accept_then_fail_mode: Literal["504", "drop"] = "504"
    reject_next_with: tuple[int, int, str] | None = None
    rate_limit_per_minute: int = 0
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

    # -- runtime control (``/_sim/faults``) ----------------------------------------------

    def knobs(self) -> dict[str, object]:
        """The knobs as JSON values: what ``GET /_sim/faults`` answers."""
        reject = self.reject_next_with
        return {
            "latency_s": self.latency_s,
            "error_5xx_rate": self.error_5xx_rate,
            "error_status": self.error_status,
            "drop_connection_after_requests": self.drop_connection_after_requests,
            "stall_next_requests": self.stall_next_requests,
            "accept_then_fail_next": self.accept_then_fail_next,
            "accept_then_fail_mode": self.accept_then_fail_mode,
            "reject_next_with": list(reject) if reject is not None else None,
            "rate_limit_per_minute": self.rate_limit_per_minute,
            "seed": self.seed,
        }

    def update(self, values: Mapping[str, object]) -> None:
        """Set any subset of the knobs from JSON values, all or none.

        Raises :class:`FaultKnobError` (one line, naming the knob) on an unknown knob or a
        value of the wrong type or out of range; nothing is changed then. Setting ``seed``
        restarts the 5xx coin from that seed.
        """
        parsed: dict[str, object] = {}
        for name, value in values.items():
            check = _KNOB_CHECKS.get(name)
            if check is None:
                raise FaultKnobError(f"unknown fault knob: {_short(name)}")
            try:
                parsed[name] = check(value)
            except (TypeError, ValueError) as exc:
                raise FaultKnobError(f"{name}: {exc}") from None
        for name, value in parsed.items():
            setattr(self, name, value)
        if "seed" in parsed:
            self.rng = random.Random(self.seed)


class FaultKnobError(ValueError):
    """A knob update the simulator refuses; the message is one line."""


def _short(value: object) -> str:
    text = repr(value).replace("\n", " ")
    return text if len(text) <= 80 else text[:77] + "..."


def _number(lo: float, hi: float) -> Callable[[object], float]:
    def check(value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"expected a number, got {_short(value)}")
        if not math.isfinite(value) or not lo <= value <= hi:
            raise ValueError(f"must be in [{lo:g}, {hi:g}], got {_short(value)}")
        return float(value)

    return check


def _integer(lo: int, hi: int) -> Callable[[object], int]:
    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected an integer, got {_short(value)}")
        if not lo <= value <= hi:
            raise ValueError(f"must be in [{lo}, {hi}], got {value}")
        return value

    return check


def _optional(check: Callable[[object], int]) -> Callable[[object], int | None]:
    return lambda value: None if value is None else check(value)


def _mode(value: object) -> str:
    if value not in ("504", "drop"):
        raise ValueError(f'must be "504" or "drop", got {_short(value)}')
    return str(value)


def _reject(value: object) -> tuple[int, int, str] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 3:
        raise TypeError(f"expected null or [status, code, message], got {_short(value)}")
    status, code, message = value
    if not isinstance(message, str) or "\n" in message or "\r" in message:
        raise TypeError("message must be a one-line string")
    return _integer(400, 599)(status), _integer(0, 2**31 - 1)(code), message


_KNOB_CHECKS: dict[str, Callable[[object], object]] = {
    "latency_s": _number(0.0, 60.0),
    "error_5xx_rate": _number(0.0, 1.0),
    "rate_limit_per_minute": _integer(0, 1_000_000),
    "error_status": _integer(500, 599),
    "drop_connection_after_requests": _optional(_integer(1, 2**31 - 1)),
    "stall_next_requests": _integer(0, 2**31 - 1),
    "accept_then_fail_next": _integer(0, 2**31 - 1),
    "accept_then_fail_mode": _mode,
    "reject_next_with": _reject,
    "seed": _integer(-(2**63), 2**63 - 1),
}
