"""The engine's beliefs that are not about one order: each is an event, taken by
:meth:`~tradewire.engine.ledger.Ledger.record`, journaled by the codec
(:func:`~tradewire.engine.journal.codec.encode_belief`) and rebuilt by
:func:`~tradewire.engine.journal.replay.replay`, like the order events of
:mod:`tradewire.engine.orders`.

Before these, start-up and the reconciler set positions directly and journaled (at most) a
note that replay skipped; a denial, a new session and a kill were notes written beside the
ledger. NautilusTrader corrects a position with an inferred fill flagged ``reconciliation``;
here the correction is its own event, carrying the broker's figure and why it was taken.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PositionCorrected:
    """The position in ``symbol`` is the broker's figure: ``qty`` (signed) at ``avg_price``.

    ``reason``: who took the broker's word (``start-up``, ``reconcile``, ``snapshot`` for the
    head of a new journal segment, ``expiry`` for an option exercised, assigned or expired).
    ``realized``: P&L the change realized, when the host knows it (an expiry closes the
    option at no price: its premium is realized; the delivered shares come in at the strike).
    """

    symbol: str
    qty: float
    avg_price: float
    reason: str = ""
    realized: float = 0.0


@dataclass(frozen=True, slots=True)
class FeeCharged:
    """A fee the broker charged, as its fee activity (Alpaca's ``CFEE``/``FEE``) reports it.

    ``qty``: units of ``symbol``'s asset taken (a crypto buy pays its fee in the coin
    received: 0.01 BTC bought at 25 bps leaves 0.009975), so the position shrinks and its
    average entry price stays; ``usd``: dollars taken (a crypto sell pays in the dollars
    received), so realized P&L and cash fall. Both are positive amounts charged.
    ``activity_id`` is the broker's id of the activity: one activity books once.
    """

    symbol: str
    qty: float
    usd: float
    activity_id: str


@dataclass(frozen=True, slots=True)
class Denied:
    """An order refused before it existed: ``rule`` is the risk rule's name, or ``invalid``."""

    client_order_id: str
    strategy: str
    symbol: str
    why: str
    rule: str = ""


@dataclass(frozen=True, slots=True)
class SessionStarted:
    """A new trading session (``day``, ISO date in New York) began: the daily P&L restarts."""

    day: str


@dataclass(frozen=True, slots=True)
class KillEngaged:
    """The kill switch: orders halted, ``dropped`` queued orders never sent; ``flatten``:
    every position is being closed too."""

    reason: str
    flatten: bool = False
    dropped: int = 0


LedgerEvent = PositionCorrected | FeeCharged | Denied | SessionStarted | KillEngaged
"""What :meth:`~tradewire.engine.ledger.Ledger.record` takes."""
