"""What an option settlement does to the position book (:class:`OptionSettled`). Sans-I/O.

Shared by the ledger (live) and the replay, so a journal rebuilds what live booked: the
option position moves by the settlement's change at no price, and an exercise or assignment
moves the underlying's shares at the strike (:func:`settlement_shares`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tradewire.engine.events import OptionSettled, settlement_shares
from tradewire.engine.options import multiplier_of, parse_occ

if TYPE_CHECKING:
    from tradewire.engine.positions import PositionBook


def settle(book: PositionBook, event: OptionSettled) -> float:
    """Book ``event``; returns the underlying's signed shares it moved."""
    if event.change:
        side = "buy" if event.change > 0 else "sell"
        book.apply_fill(event.symbol, side, abs(event.change), 0.0)
    shares = settlement_shares(event.symbol, event.change, event.kind, multiplier_of(event.symbol))
    if shares:
        underlying = parse_occ(event.symbol).underlying
        book.apply_fill(underlying, "buy" if shares > 0 else "sell", abs(shares), event.strike)
    return shares
