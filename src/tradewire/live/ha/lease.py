"""The gateway lease as a sans-I/O state machine: who may send orders, decided from a JetStream KV.

One key (``lease``) in a JetStream key-value bucket names the active gateway: ``{holder,
term}``. Every write is a compare-and-set on the key's revision (``update(last=revision)``;
``last=0`` creates), so of two writers racing on one revision exactly one wins. This module
only decides; :mod:`tradewire.live.ha.keeper` does the KV calls and feeds the outcomes back:

* :meth:`LeaseMachine.observed` — what a read of the key returned (revision, value or
  ``None`` when absent or deleted), at our monotonic time ``now``;
* :meth:`LeaseMachine.renewed` — the outcome of our CAS write, with the monotonic time the
  request was **sent** (``started_at``), its new revision, and whether it was a conflict;
* :meth:`LeaseMachine.tick` — what to do now: :class:`Acquire`, :class:`Renew` or :class:`Wait`.

Rules (``L = lease_s``, ``m = margin_s``, every time on this process's monotonic clock):

* **Active** after a successful CAS. It renews every ``L/3`` (CAS on the revision it wrote)
  and **may send** only while ``now < started_at(last successful CAS) + L - m``. At that
  instant (the *fence*) it stops sending whether or not the KV answers, and becomes standby
  at the next :meth:`~LeaseMachine.tick`. A conflict (someone else wrote) or a read naming
  another holder or no holder makes it standby at once.
* **Standby** takes the lease (CAS on the revision it saw, with term + 1) when the key is
  absent or deleted, or once it has seen the *same revision* unchanged for ``L + m`` on its
  own clock, or at once when the key still holds a value this machine wrote (it lapsed but
  nobody took over: the CAS proves nobody wrote since).

Why nobody overlaps. A standby can only win a CAS on revision ``R`` if nothing was written
after ``R``. Every active's last successful write is then ``R`` or older, and its request was
sent before ``R`` was written, hence before the standby first saw ``R``. So the active's
fence comes at most ``L - m`` after that write, while the standby's CAS leaves no earlier
than ``L + m`` after it, measured on two different clocks. The new active starts sending
only after its CAS was applied. A write that was applied although its sender timed out
never extends a send window: only a CAS whose answer we saw does.

Clocks. No wall clocks are compared and none need to be synchronised: each process measures
only durations on its own monotonic clock, so offsets are irrelevant. What is assumed is
bounded *rate* drift: if every clock runs at a rate within ``1 ± ρ`` of real time, the
standby waits at least ``(L + m) / (1 + ρ)`` real seconds and the active fences within
``(L - m) / (1 - ρ)``, which is shorter whenever ``ρ < m / L`` (10 % for ``L = 2``,
``m = 0.2``; quartz drifts by about 0.01 %). A process paused (GC, SIGSTOP) is harmless:
:meth:`~LeaseMachine.may_send` is asked at send time with the current clock.

Also assumed: the KV is durable (file storage, replicated in production) — a bucket that
lost its key would let a standby create it at once — and holder ids are unique among live
processes. Deleting the key by hand is a forced handover that skips the fence.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

__all__ = ["Acquire", "Action", "LeaseMachine", "LeaseValue", "Renew", "Wait"]

_RETRY_FRACTION = 6  # after a failed renewal (unknown outcome) retry after L/6 at the earliest


@dataclass(frozen=True, slots=True)
class LeaseValue:
    """What the key holds: the holder's id and the term of its active period."""

    holder: str
    term: int

    def encode(self) -> bytes:
        """``{"holder": ..., "term": ...}`` as JSON bytes."""
        return json.dumps({"holder": self.holder, "term": self.term}).encode()

    @classmethod
    def decode(cls, data: bytes) -> LeaseValue:
        """The inverse of :meth:`encode`; anything unreadable is a foreign holder of term 0."""
        try:
            raw = json.loads(data)
            holder, term = raw["holder"], raw["term"]
        except (ValueError, TypeError, KeyError):
            return cls("<unreadable>", 0)
        if not isinstance(holder, str) or not isinstance(term, int) or isinstance(term, bool):
            return cls("<unreadable>", 0)
        return cls(holder, term)


@dataclass(frozen=True, slots=True)
class Acquire:
    """CAS-write ``LeaseValue(holder, term)`` over ``revision`` (0: the key must not exist)."""

    revision: int
    term: int


@dataclass(frozen=True, slots=True)
class Renew:
    """CAS-write our own value again over ``revision``, the one we wrote last."""

    revision: int
    term: int


@dataclass(frozen=True, slots=True)
class Wait:
    """Nothing to do; call :meth:`LeaseMachine.tick` again at ``until`` at the latest
    (``inf``: not before something is observed or reported)."""

    until: float


Action = Acquire | Renew | Wait


class LeaseMachine:
    """The lease rules of the module docstring, driven by explicit times and outcomes."""

    def __init__(self, holder: str, lease_s: float, margin_s: float) -> None:
        if not holder:
            raise ValueError("the lease holder needs a non-empty id")
        if not lease_s > 0 or not 0 < margin_s < lease_s / 3:
            raise ValueError(
                f"the lease needs lease_s > 0 and 0 < margin_s < lease_s/3 "
                f"(got lease_s={lease_s}, margin_s={margin_s})"
            )
        self.holder = holder
        self.lease_s = lease_s
        self.margin_s = margin_s
        self._revision: int | None = None  # None: nothing observed yet; 0: the key never existed
        self._value: LeaseValue | None = None
        self._seen_at = 0.0  # when the current revision was first seen
        self._need_read = False  # after a failed Acquire: read the key again before retrying
        self._claim: LeaseValue | None = None  # the value we last wrote or tried to write
        self._first_term = 0  # our first claim's term: ours are at least that (0: none yet)
        self._pending: Acquire | Renew | None = None
        self._active = False
        self._granted_at: float | None = None  # send time of the last successful CAS
        self._retry_at = -math.inf
        self._max_term = 0
        self._released = False

    def __repr__(self) -> str:
        state = "active" if self._active else "standby"
        return (
            f"LeaseMachine({self.holder!r}, {state}, term={self.term}, revision={self._revision})"
        )

    @property
    def active(self) -> bool:
        """Whether we hold the lease (until the fence; :meth:`may_send` is the send gate)."""
        return self._active

    @property
    def term(self) -> int:
        """Our term while active; otherwise the highest term seen in the key."""
        return self._max_term

    @property
    def revision(self) -> int | None:
        """The key's revision as last seen or written (None before the first read)."""
        return self._revision

    @property
    def fence_at(self) -> float | None:
        """The monotonic time at which an active stops sending, or None when standby."""
        if not self._active or self._granted_at is None:
            return None
        return self._granted_at + self.lease_s - self.margin_s

    def may_send(self, now: float) -> bool:
        """Whether orders may go out at ``now``: active and before the fence."""
        fence = self.fence_at
        return fence is not None and now < fence

    def _ours(self, value: LeaseValue) -> bool:
        """Written by this machine: our holder id, and a term no older than our first claim
        (a previous process with the same id wrote older terms only)."""
        return value.holder == self.holder and 0 < self._first_term <= value.term

    def _stand_down(self) -> None:
        self._active = False
        self._granted_at = None

    def observed(self, revision: int, value: LeaseValue | None, now: float) -> None:
        """A read of the key: ``revision`` (0 when it never existed) and its value (None when
        absent or deleted), received at ``now``. A new revision restarts the standby's wait."""
        if revision != self._revision:
            self._seen_at = now
        self._revision, self._value = revision, value
        self._need_read = False
        if value is not None:
            self._max_term = max(self._max_term, value.term)
        if self._active and value != self._claim:
            self._stand_down()  # someone else holds it, or nobody: we do not

    def renewed(
        self,
        ok: bool,
        started_at: float,
        revision: int | None = None,
        *,
        conflict: bool = False,
        answered_at: float | None = None,
    ) -> None:
        """The outcome of the CAS :meth:`tick` asked for, sent at ``started_at``.

        ``ok`` with the new ``revision``; or a failure: ``conflict=True`` when the KV refused
        it (the revision moved: someone else wrote), else the outcome is unknown (timeout,
        disconnected) and an active keeps its fence while it retries. ``answered_at`` (when
        the outcome came; default ``started_at``): a renewal answered after the fence ends
        the term all the same, and :meth:`tick` then reclaims the key with the next one.
        """
        pending, self._pending = self._pending, None
        if self._active and not self.may_send(started_at if answered_at is None else answered_at):
            self._stand_down()
        if pending is None or self._released:
            return
        if ok:
            if revision is None:
                raise ValueError("a successful CAS has a revision")
            self._revision, self._value, self._seen_at = revision, self._claim, started_at
            self._retry_at = -math.inf
            if isinstance(pending, Acquire) or self._active:
                assert self._claim is not None
                self._active = True
                self._max_term = max(self._max_term, self._claim.term)
                self._granted_at = started_at
            # A Renew answered after the fence: we hold the key; tick() reclaims it, term + 1.
            return
        if conflict:
            self._stand_down()
            self._need_read = True
        elif isinstance(pending, Acquire):
            self._need_read = True
        else:
            self._retry_at = started_at + self.lease_s / _RETRY_FRACTION

    def tick(self, now: float) -> Action:
        """Fence if due, then say what to do now."""
        if self._active and not self.may_send(now):
            self._stand_down()
        if self._released or self._pending is not None or self._revision is None:
            return Wait(self.fence_at if self.fence_at is not None else math.inf)
        if self._active:
            assert self._granted_at is not None
            assert self._claim is not None
            renew_at = max(self._granted_at + self.lease_s / 3, self._retry_at)
            if now >= renew_at:
                self._pending = Renew(self._revision, self._claim.term)
                return self._pending
            fence = self._granted_at + self.lease_s - self.margin_s
            return Wait(min(renew_at, fence))
        if self._need_read:
            return Wait(math.inf)
        takeover_at = self._seen_at + self.lease_s + self.margin_s
        if self._value is None or self._ours(self._value) or now >= takeover_at:
            self._claim = LeaseValue(self.holder, self._max_term + 1)
            self._first_term = self._first_term or self._claim.term
            self._pending = Acquire(self._revision, self._claim.term)
            return self._pending
        return Wait(takeover_at)

    def release(self) -> int | None:
        """Stop for good: no more sending from now on. Returns the revision to CAS-delete
        when the key, as last known, still holds our claim (else None: leave it alone)."""
        self._stand_down()
        self._released = True
        self._pending = None
        if self._claim is not None and self._value == self._claim and self._revision:
            return self._revision
        return None
