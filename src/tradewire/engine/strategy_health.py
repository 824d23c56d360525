"""How many errors a strategy may raise before it is stopped, and how loudly they are logged.

A bug in ``on_quote`` raises on every quote: at a few thousand quotes a second, one
traceback per call buried the log (880 a second) and the strategy went on trading on
whatever state the failing callback had left half-updated. So the first error is logged
with its traceback, later ones only as a count every ``report_every_s``, and ``max_errors``
errors within ``window_s`` stop the strategy. Sans-I/O: the host passes the clock in and
acts on the verdict (log, cancel the strategy's orders, tell the panel and the metrics).
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field


class Verdict(enum.Enum):
    TRACEBACK = "traceback"  # the first error: log it in full
    QUIET = "quiet"  # counted; summarised by report()
    STOP = "stop"  # too many in the window: stop the strategy now


@dataclass(slots=True)
class StrategyHealth:
    """Error accounting for one strategy. ``max_errors`` 0 means never stop it."""

    max_errors: int = 20
    window_s: float = 60.0
    report_every_s: float = 5.0
    errors: int = 0
    stopped: str = ""  # why, once stopped
    last_error: str = ""
    _recent: deque[float] = field(default_factory=deque)
    _unreported: int = 0
    _reported_at: float = 0.0

    def on_error(self, now_s: float, description: str) -> Verdict:
        self.errors += 1
        self.last_error = description
        recent = self._recent
        recent.append(now_s)
        while recent and recent[0] <= now_s - self.window_s:
            recent.popleft()
        if self.max_errors and len(recent) >= self.max_errors and not self.stopped:
            self.stopped = (
                f"stopped after {len(recent)} errors in {self.window_s:g}s (last: {description})"
            )
            return Verdict.STOP
        if self.errors == 1:
            self._reported_at = now_s
            return Verdict.TRACEBACK
        self._unreported += 1
        return Verdict.QUIET

    def report(self, now_s: float) -> int:
        """How many errors to summarise in one log line now (0: nothing to say yet)."""
        if not self._unreported or now_s - self._reported_at < self.report_every_s:
            return 0
        count, self._unreported = self._unreported, 0
        self._reported_at = now_s
        return count

    def flush(self) -> int:
        """Errors not yet summarised, at stop: the log must account for every one."""
        count, self._unreported = self._unreported, 0
        return count
