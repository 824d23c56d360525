"""Strategy timers, the same in every host: ``call_later`` and ``call_every`` return a Timer.

Before the engine core a backtest's ``call_later`` returned ``None`` (a strategy that
cancelled its own timer crashed there), a worker's timers were unguarded and the inline
node's list of fired one-shots was trimmed by hand. Here a timer is scheduled on the host's
clock (:class:`~tradewire.engine.ports.Clock`: the event loop live, the event heap in a
backtest), runs its callback through the core's guard (a raising timer counts against the
strategy's error budget, like any callback), forgets itself when it ends, and a periodic
one keeps its phase (the next run is due one interval after the last was due, not after it
finished), skipping runs it is too late for rather than bursting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tradewire.engine.ports import Cancellable, Clock

Runner = Callable[["Timer"], None]


class Timer:
    """One scheduled callback of one strategy. ``cancel()`` stops it; ``active`` says
    whether it may still run."""

    __slots__ = ("_book", "active", "callback", "due", "handle", "interval_s", "owner")

    def __init__(
        self, book: TimerBook, owner: str, callback: Callable[[], None], interval_s: float
    ) -> None:
        self._book = book
        self.owner = owner
        self.callback = callback
        self.interval_s = interval_s  # 0: once
        self.active = True
        self.due = 0.0
        self.handle: Cancellable | None = None

    def __repr__(self) -> str:
        every = f"every {self.interval_s:g}s" if self.interval_s else "once"
        return f"Timer({self.owner}, {every}, {'active' if self.active else 'ended'})"

    def cancel(self) -> None:
        if not self.active:
            return
        self.active = False
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        self._book.forget(self)


class TimerBook:
    """Every live timer, by owner: what a stopped strategy or a stopping host cancels."""

    def __init__(self, clock: Clock, run: Runner) -> None:
        self._clock = clock
        self._run = run  # the core's guarded call of timer.callback
        self._by_owner: dict[str, set[Timer]] = {}

    def __len__(self) -> int:
        return sum(len(t) for t in self._by_owner.values())

    def later(self, owner: str, delay_s: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(self, owner, callback, 0.0)
        self._arm(timer, max(delay_s, 0.0))
        return timer

    def every(self, owner: str, interval_s: float, callback: Callable[[], None]) -> Timer:
        if not interval_s > 0:
            raise ValueError(f"call_every needs an interval > 0, got {interval_s!r}")
        timer = Timer(self, owner, callback, interval_s)
        self._arm(timer, interval_s)
        return timer

    def dead(self, owner: str) -> Timer:
        """A timer that will never run (what a stopped strategy's call_later returns)."""
        timer = Timer(self, owner, _nothing, 0.0)
        timer.active = False
        return timer

    def _arm(self, timer: Timer, delay_s: float) -> None:
        clock = self._clock
        timer.due = clock.monotonic() + delay_s
        timer.handle = clock.call_later(delay_s, lambda: self._fire(timer))
        self._by_owner.setdefault(timer.owner, set()).add(timer)

    def _fire(self, timer: Timer) -> None:
        if not timer.active:
            return
        timer.handle = None
        if not timer.interval_s:
            timer.active = False
            self.forget(timer)
        self._run(timer)
        if timer.active and timer.interval_s:
            now = self._clock.monotonic()
            due = timer.due + timer.interval_s
            if due <= now:  # late (a long callback, a busy loop): the next slot ahead
                due += ((now - due) // timer.interval_s + 1) * timer.interval_s
            timer.due = due
            timer.handle = self._clock.call_later(due - now, lambda: self._fire(timer))

    def forget(self, timer: Timer) -> None:
        timers = self._by_owner.get(timer.owner)
        if timers is not None:
            timers.discard(timer)
            if not timers:
                del self._by_owner[timer.owner]

    def cancel_owner(self, owner: str) -> None:
        for timer in list(self._by_owner.get(owner, ())):
            timer.cancel()

    def cancel_all(self) -> None:
        for owner in list(self._by_owner):
            self.cancel_owner(owner)


def _nothing() -> None:
    return None
