"""What to do next with one order submission, decided without I/O.

An order has three outcomes: accepted, rejected (a definitive 403/422), or unknown (a
timeout, 5xx, 429 or dropped connection after the request may have been written). Unknown
is never answered with a blind resend (alpaca-py resends a 504'd POST). It is resolved:
look the order up by client_order_id; if the venue has no record, resend with the *same*
id, which is safe because the venue refuses a duplicate id; a "client_order_id must be
unique" 422 on that resend proves the first attempt landed, so look it up again. After
``attempts`` lookups it stays unknown, and reconciliation settles it.

The client (``client.py``) does the sending and the sleeping; this module only says what
comes next, so every branch is a unit test with no sockets (tests/unit/venues/alpaca).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Generic, TypeVar

from tradewire.errors import BrokerError, RetryableBrokerError
from tradewire.venues.alpaca.errors import is_duplicate_client_order_id

T = TypeVar("T")


class SubmissionStep(enum.StrEnum):
    """One step of a submission, as the client reports it to its ``on_order_event`` hook.

    The detail it comes with: the venue's order (``ACKED``, ``RESOLVED``), the error
    (``REJECTED``), why the outcome is not known (``UNKNOWN``), else nothing.
    """

    WRITTEN = "written"  # the request's bytes are on the socket
    ACKED = "acked"  # the venue's first answer accepted the order
    RESOLVED = "resolved"  # accepted, learned after an unknown outcome (lookup or resend)
    REJECTED = "rejected"  # a definitive refusal: the order does not exist at the venue
    UNKNOWN = "unknown"  # no definitive answer after the write: resolving by client_order_id
    LOOKUP = "lookup"  # asking the venue by client_order_id
    RESENT = "resent"  # the venue had no record: the same bytes (same id) sent again
    UNRESOLVED = "unresolved"  # still unknown after every lookup: reconciliation decides


@dataclass(frozen=True, slots=True)
class Accepted(Generic[T]):
    """The venue has the order: ``order`` is its answer (the first reply or a lookup)."""

    order: T
    resolved: bool  # True when learned after an unknown outcome (lookup or resend)


@dataclass(frozen=True, slots=True)
class Rejected:
    """A definitive refusal: the order does not exist at the venue."""

    error: BrokerError


@dataclass(frozen=True, slots=True)
class LookUp:
    """Wait ``delay_s``, then ask the venue by client_order_id."""

    delay_s: float


@dataclass(frozen=True, slots=True)
class Resend:
    """The venue has no record: send the same bytes (same client_order_id) again."""


@dataclass(frozen=True, slots=True)
class Unresolved:
    """Still unknown after every lookup: it may have landed; reconciliation decides."""

    lookups: int


Decision = Accepted[T] | Rejected | LookUp | Resend | Unresolved


class SubmissionPolicy(Generic[T]):
    """The resolution of one order's outcome, step by step.

    Feed it what happened (:meth:`answered`, :meth:`failed`, :meth:`found`,
    :meth:`not_found`, :meth:`lookup_failed`); each returns the next :data:`Decision`.
    """

    def __init__(self, *, attempts: int, backoff_s: float, max_backoff_s: float = 5.0) -> None:
        self.attempts = attempts
        self.lookups = 0
        self.unknown = False
        self._delay = backoff_s
        self._max = max_backoff_s

    def __repr__(self) -> str:
        return f"SubmissionPolicy(lookups={self.lookups}/{self.attempts}, unknown={self.unknown})"

    def answered(self, order: T | None, error: BrokerError | None) -> Decision[T]:
        """The venue answered a send (the first one or a resend): its order, or an error."""
        if order is not None:
            return Accepted(order, self.unknown)
        assert error is not None
        if isinstance(error, RetryableBrokerError) or (
            self.unknown and is_duplicate_client_order_id(error)
        ):
            # 5xx/429: it may have landed. A duplicate id on a resend: it did land.
            return self._next_lookup()
        return Rejected(error)

    def failed(self) -> Decision[T]:
        """No answer after the bytes may have left (timeout, dropped connection)."""
        return self._next_lookup()

    def found(self, order: T) -> Decision[T]:
        return Accepted(order, True)

    def not_found(self) -> Decision[T]:
        """The lookup says the venue has no such order: the first attempt did not land."""
        return Resend()

    def lookup_failed(self) -> Decision[T]:
        """The lookup itself met a transient error: look again later."""
        return self._next_lookup()

    def resend_failed(self) -> Decision[T]:
        """A resend met no answer: look it up (it may have landed)."""
        return self._next_lookup()

    def _next_lookup(self) -> Decision[T]:
        self.unknown = True
        if self.lookups >= self.attempts:
            return Unresolved(self.lookups)
        delay = self._delay
        self._delay = min(self._delay * 2, self._max)
        self.lookups += 1
        return LookUp(delay)
