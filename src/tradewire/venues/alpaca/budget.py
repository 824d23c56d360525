"""Who spends the broker's request budget next: the kill switch, then orders, then reads.

Alpaca allows 200 requests a minute per key (reference section 7), shared by everything
the engine asks. With one first-come queue, the kill switch once lost that budget to the
engine's own lookups of unknown orders and to reconciliation: at 30 requests a minute, with
40 orders resting, it answered after 41.8 s with 25 orders still live. Here each request
waits for a token in priority order, and while the kill switch runs only its own requests
are admitted: every other caller pauses until it has finished.

A request's priority comes from the task that makes it (a context variable), so a caller
marks a whole stretch of work once (``with request_priority(Priority.READ): ...``) instead
of threading a flag through every REST method. Order submissions waiting for a token can be
halted: the kill switch drops every order not yet on the wire at that instant.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import heapq
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from tradewire.venues.alpaca.ratelimit import TokenBucket


class Priority(enum.IntEnum):
    """Lower goes first."""

    KILL = 0  # the kill switch: cancel-all, single cancels, its checks, flatten
    ORDER = 1  # order submissions and resends, cancels and replaces
    READ = 2  # lookups by client_order_id, reconciliation, start-up reads


_PRIORITY: ContextVar[Priority] = ContextVar("tradewire_request_priority", default=Priority.ORDER)


@contextlib.contextmanager
def request_priority(priority: Priority) -> Iterator[None]:
    """Requests made by this task inside the block wait for tokens at ``priority``."""
    token = _PRIORITY.set(priority)
    try:
        yield
    finally:
        _PRIORITY.reset(token)


def current_priority() -> Priority:
    return _PRIORITY.get()


@dataclass(order=True, slots=True)
class _Waiter:
    priority: int
    seq: int
    future: asyncio.Future[None] = field(compare=False)
    halts: bool = field(compare=False)  # an order submission: a halt fails it


class RequestBudget:
    """A token bucket shared in priority order, with a kill-switch reservation."""

    def __init__(self, bucket: TokenBucket, clock: Callable[[], float] = time.monotonic) -> None:
        self.bucket = bucket
        self.clock = clock
        self._heap: list[_Waiter] = []
        self._seq = 0
        self._timer: asyncio.TimerHandle | None = None
        self._kills = 0  # kill switches running (admit only Priority.KILL)
        self._halted: Exception | None = None
        self._gate: Callable[[], bool] | None = None
        self._gate_error: Exception | None = None
        self.fenced = False  # the gate said no: nothing that changes the broker may leave

    def __repr__(self) -> str:
        return f"RequestBudget({self.bucket!r}, waiting={len(self._heap)}, kill={self._kills})"

    @property
    def halted(self) -> Exception | None:
        """The error every order submission now fails with (None: orders may go)."""
        return self._halted

    @property
    def waiting(self) -> int:
        return sum(1 for w in self._heap if not w.future.done())

    def gate_orders(self, may_send: Callable[[], bool], error: Exception) -> None:
        """Ask ``may_send`` at the instant of every order submission: the first no halts the
        orders with ``error`` (as :meth:`halt_orders`). A failover fence that only polls lets
        a process woken from SIGSTOP run a strategy's timer, and send, before its poll."""
        self._gate, self._gate_error = may_send, error
        self.fenced = False

    def check_gate(self) -> Exception | None:
        """Halt the orders if the gate now says no; the halt's error (None: orders may go)."""
        gate = self._gate
        if gate is not None and self._halted is None and not gate():
            assert self._gate_error is not None
            self.halt_orders(self._gate_error)
            self.fenced = True
        return self._halted

    def fence(self) -> Exception | None:
        """The gate's error when it has said no (then no request that changes anything at
        the broker may leave: a cancel or a replace is the group's next active's to make,
        not a fenced process's); None otherwise. A kill's halt is no fence: it cancels."""
        if self._gate is not None and not self.fenced:
            self.check_gate()
        return self._gate_error if self.fenced else None

    def try_take_now(self) -> bool:
        """The hot path's question: may an order go this instant, ahead of nobody?"""
        if self._gate is not None:
            self.check_gate()
        if self._heap or self._kills or self._halted is not None:
            return False
        return self.bucket.take_now(self.clock())

    async def take(self, priority: Priority | None = None, *, order: bool = False) -> None:
        """Wait for a token at ``priority`` (default: the task's). ``order``: this is an order
        submission, failed with the halt's error if the orders are halted meanwhile."""
        if order and (halted := self.check_gate()) is not None:
            raise halted
        prio = current_priority() if priority is None else priority
        if not self._heap and self._admits(prio) and self.bucket.delay(self.clock()) == 0.0:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._heap, _Waiter(int(prio), self._seq, future, order))
        self._pump()
        await future

    @contextlib.contextmanager
    def reserved_for_kill(self) -> Iterator[None]:
        """While inside, only Priority.KILL requests get tokens, and this task makes them."""
        self._kills += 1
        token = _PRIORITY.set(Priority.KILL)
        try:
            yield
        finally:
            _PRIORITY.reset(token)
            self._kills -= 1
            self._pump()

    def halt_orders(self, error: Exception) -> int:
        """Fail every order submission waiting for a token, and every later one, with
        ``error``; returns how many were waiting. Reads and cancels still go."""
        self._halted = error
        failed = 0
        for waiter in self._heap:
            if waiter.halts and not waiter.future.done():
                waiter.future.set_exception(error)
                failed += 1
        self._pump()
        return failed

    # -- internals -------------------------------------------------------------------------

    def _admits(self, priority: int) -> bool:
        return not self._kills or priority == Priority.KILL

    def _pump(self) -> None:
        # Hand out tokens to the front of the queue while there are any.
        heap = self._heap
        while heap:
            waiter = heap[0]
            if waiter.future.done():  # cancelled or halted
                heapq.heappop(heap)
                continue
            if not self._admits(waiter.priority):
                return  # the kill switch's release pumps again
            delay = self.bucket.delay(self.clock())
            if delay > 0.0:
                self._wake_in(delay)
                return
            heapq.heappop(heap)
            waiter.future.set_result(None)

    def _wake_in(self, delay: float) -> None:
        if self._timer is not None and not self._timer.cancelled():
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._pump()
