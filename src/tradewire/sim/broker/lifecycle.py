"""The rarer trade_updates events of the simulated venue, and the knobs that script them.

Alpaca sends more than ``new``, fills and ``canceled`` (reference/alpaca.md section 8):
``accepted``/``pending_new`` before an order is routed, ``rejected`` for an order the POST
accepted but the venue refused afterwards, ``expired`` when a DAY order's session ends,
``order_cancel_rejected`` when a cancel arrives as the order fills or closes, and
``order_replace_rejected`` (with the replacement ``rejected``) when a replace loses the
same race. The paper venue sends them when its own state calls for them; the simulator's
market is always open and its cancels and replaces are instantaneous, so here they are
scripted through ``/_sim/orders`` (loopback only, like every ``/_sim/`` endpoint):

- ``{"announce": ["pending_new"]}``: events sent on accept, before ``new`` (``accepted``,
  ``pending_new``, in the given order); ``[]`` (the default) sends only ``new``.
- ``{"reject_next": N}``: the next N orders are answered 200 (``accepted``), then end
  ``rejected`` on the stream instead of being routed.
- ``{"cancel_reject_next": N}``: the next N cancels of open orders are answered 204, then
  refused on the stream (``order_cancel_rejected``); the order keeps working.
- ``{"replace_reject_next": N}``: the next N replaces are answered 200 with the new order,
  then refused: ``order_replace_rejected`` on the original (which keeps working) and
  ``rejected`` on the replacement (the order the answer named).
- ``{"expire_day_orders": true}``: the session ends now: open DAY (OPG, CLS) orders end
  ``expired``.

Sans-I/O: these functions return :class:`Execution` records; the server publishes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tradewire.sim.broker.matching import SimBook
from tradewire.sim.broker.orders import TERMINAL, Execution, OrderError, SimOrder

ANNOUNCEMENTS = ("accepted", "pending_new")
_MAX = 2**31 - 1


@dataclass(slots=True)
class VenueScript:
    """What ``/_sim/orders`` set: which rare events the next orders get."""

    announce: tuple[str, ...] = ()
    reject_next: int = 0
    cancel_reject_next: int = 0
    replace_reject_next: int = 0

    def knobs(self) -> dict[str, object]:
        return {
            "announce": list(self.announce),
            "reject_next": self.reject_next,
            "cancel_reject_next": self.cancel_reject_next,
            "replace_reject_next": self.replace_reject_next,
        }

    def update(self, values: dict[str, Any]) -> None:
        """Set any subset of the knobs, all or none (``ValueError``: one line, naming it)."""
        parsed: dict[str, object] = {}
        for name, value in values.items():
            if name == "expire_day_orders":
                continue  # an action, not a knob: the server runs it
            if name == "announce":
                if not isinstance(value, list) or not set(value) <= set(ANNOUNCEMENTS):
                    raise ValueError(f"announce: expected a list of {list(ANNOUNCEMENTS)}")
                parsed[name] = tuple(value)
            elif name in ("reject_next", "cancel_reject_next", "replace_reject_next"):
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX:
                    raise ValueError(f"{name}: expected an integer >= 0")
                parsed[name] = value
            else:
                raise ValueError(f"unknown order control: {name[:80]!r}")
        for name, value in parsed.items():
            setattr(self, name, value)

    def take(self, name: str) -> bool:
        """Use one of a ``*_next`` count: True when it was set."""
        left: int = getattr(self, name)
        if left <= 0:
            return False
        setattr(self, name, left - 1)
        return True


def activate(book: SimBook, order: SimOrder, script: VenueScript) -> list[Execution]:
    """Route an accepted order as the script says: announced, rejected, or as usual."""
    if order.status != "accepted":
        return []
    if script.take("reject_next"):
        return [_end(book, order, "rejected")]
    at = book.clock()
    execs = [
        Execution(name, order, status=name, filled_qty=order.filled_qty, at=at)
        for name in script.announce
    ]
    execs.extend(book.activate(order))
    return execs


def refuse_cancel(book: SimBook, order_id: str) -> list[Execution]:
    """A cancel the venue accepted (204) and then refused: the order keeps working."""
    order = book.get(order_id)
    if order.status in TERMINAL:
        raise OrderError(422, 42210000, "order is not cancelable")
    return [Execution("order_cancel_rejected", order, at=book.clock())]


def refuse_replace(
    book: SimBook, order_id: str, body: dict[str, object]
) -> tuple[SimOrder, list[Execution]]:
    """A replace answered 200 with the new order, then refused: the original keeps working,
    the replacement (booked, so the venue knows its id) ends ``rejected``."""
    old = book.get(order_id)
    new = book.build_replacement(old, body)
    book.book_order(new)
    refused = Execution("order_replace_rejected", old, at=book.clock())
    return new, [refused, _end(book, new, "rejected")]


def _end(book: SimBook, order: SimOrder, status: str) -> Execution:
    at = book.clock()
    order.status = status
    order.touch(at)
    if status == "rejected":
        order.failed_at = at
    if order.order_class == "mleg":  # an mleg's legs end with it, without events of their own
        for leg_id in order.legs:
            book.orders[leg_id].status = status
    return Execution(status, order, at=at)
