"""Client-side token bucket for Alpaca's per-key rate limit (200 requests/minute by default).

Sans-I/O: the caller passes the time in and sleeps for the returned delay. The bucket also
listens to the venue: ``X-Ratelimit-Remaining``/``Reset`` from a response override the local
estimate, because every process using the key (and stream reconnects) draws from it too.
"""

from __future__ import annotations

from collections.abc import Mapping


class TokenBucket:
    def __init__(self, *, per_minute: int, now_s: float, burst: int | None = None) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be > 0")
        self.per_minute = per_minute
        self.capacity = float(burst if burst is not None else per_minute)
        self.tokens = self.capacity
        self.updated = now_s
        self.blocked_until = 0.0

    def __repr__(self) -> str:
        return f"TokenBucket({self.tokens:.1f}/{self.capacity:.0f}, {self.per_minute}/min)"

    def _refill(self, now_s: float) -> None:
        elapsed = max(0.0, now_s - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.per_minute / 60.0)
        self.updated = now_s

    def delay(self, now_s: float) -> float:
        """Seconds to wait before the next request may go; takes a token when it returns 0."""
        if self.take_now(now_s):
            return 0.0
        if now_s < self.blocked_until:
            return self.blocked_until - now_s
        return (1 - self.tokens) * 60.0 / self.per_minute

    def take_now(self, now_s: float) -> bool:
        """Takes a token if one is there now: :meth:`delay` == 0, the order path's question."""
        if now_s < self.blocked_until:
            return False
        self._refill(now_s)
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def observe(self, headers: Mapping[str, str], now_s: float, wall_s: float) -> None:
        """Align with the venue's own count from ``X-Ratelimit-*`` response headers."""
        remaining = headers.get("x-ratelimit-remaining")
        reset = headers.get("x-ratelimit-reset")
        if remaining is None:
            return
        try:
            left = float(remaining)
        except ValueError:
            return
        self._refill(now_s)
        self.tokens = min(self.tokens, left)
        if left < 1 and reset is not None:
            try:
                self.blocked_until = max(
                    self.blocked_until, now_s + max(0.0, float(reset) - wall_s)
                )
            except ValueError:
                return

    def penalize(self, retry_after_s: float, now_s: float) -> None:
        """After a 429: nothing goes out until ``retry_after_s`` has passed."""
        self.tokens = 0.0
        self.updated = now_s
        self.blocked_until = max(self.blocked_until, now_s + retry_after_s)
