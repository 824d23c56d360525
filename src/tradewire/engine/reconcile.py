"""Reconciliation decisions: compare the engine's orders and positions with the broker's.

Synchronous and I/O-free; ``live/reconciler.py`` fetches the broker's view and applies
what this module decides through the ledger. The same decisions serve start-up recovery,
the check after a trade_updates gap, and the periodic timer (DESIGN.md: reconciliation is
continuous).

Why each rule:
- A local open order the broker lists as open: adopt the broker's fills and status.
- A local open order the broker does not list as open: it ended (or never landed) while
  we were not listening; look it up by client_order_id.
- A lookup that finds nothing: an order that was sent (or is unknown) and older than the
  horizon never reached the broker and never will: abandon it. Younger ones wait: the
  submission may still be settling.
- A broker open order we do not know: placed outside the engine (dashboard, another tool,
  the kill switch's flatten): adopt it as ``external`` so risk counts it.
- A position that differs after every order agrees: corrected to the broker's, but only
  when the same difference was seen twice with no fill in between, so a fill still on
  its way on the stream is not counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tradewire.engine import orders as o
from tradewire.engine.positions import PositionBook
from tradewire.engine.translate import OrderFact

_MAY_BE_MISSING = (o.OrderStatus.SENT, o.OrderStatus.UNKNOWN)


@dataclass(slots=True)
class OrderPlan:
    adopt: list[OrderFact] = field(default_factory=list)  # known here, open there
    external: list[OrderFact] = field(default_factory=list)  # open there, unknown here
    lookup: list[str] = field(default_factory=list)  # open here, not open there


def plan_orders(
    oms: o.OrderManager, broker_open: list[OrderFact], *, settling: set[str]
) -> OrderPlan:
    """Decide what to do with each order; ``settling`` are ids whose submission is in flight."""
    plan = OrderPlan()
    listed: set[str] = set()
    for fact in broker_open:
        listed.add(fact.client_order_id)
        if fact.client_order_id in oms.orders:
            plan.adopt.append(fact)
        else:
            plan.external.append(fact)
    for order in oms.orders.values():
        cid = order.client_order_id
        if not order.is_open or cid in listed or cid in settling:
            continue
        if order.status is o.OrderStatus.INTENT:
            continue  # its bytes have not left yet
        plan.lookup.append(cid)
    return plan


def missing_means_abandon(order: o.Order, *, now_ns: int, horizon_ns: int) -> bool:
    """A lookup found no such order: is it safe to say it never landed?"""
    return order.status in _MAY_BE_MISSING and now_ns - order.created_ns >= horizon_ns


@dataclass(slots=True)
class PositionCheck:
    """Differences between the book and the broker, confirmed across two rounds."""

    suspects: dict[str, tuple[float, float]] = field(default_factory=dict)
    fills_at_suspicion: int = -1

    def compare(
        self, book: PositionBook, broker: dict[str, tuple[float, float]], *, fills: int
    ) -> dict[str, tuple[float, float]]:
        """Return the corrections to make now: symbol -> (broker qty, broker avg price)."""
        seen: dict[str, tuple[float, float]] = {}
        for symbol in set(broker) | {s for s, p in book.positions.items() if p.qty}:
            qty, avg = broker.get(symbol, (0.0, 0.0))
            if abs(book.qty(symbol) - qty) > 1e-9:
                seen[symbol] = (qty, avg)
        confirmed = {
            s: v
            for s, v in seen.items()
            if self.suspects.get(s) == v and self.fills_at_suspicion == fills
        }
        self.suspects = {s: v for s, v in seen.items() if s not in confirmed}
        self.fills_at_suspicion = fills
        return confirmed
