"""Reconciliation decisions: compare the engine's orders and positions with the broker's.

Synchronous and I/O-free; ``live/reconciler.py`` fetches the broker's view and applies
what this module decides through the ledger. The same decisions serve start-up recovery,
the check after a trade_updates gap, and the periodic timer (DESIGN.md: reconciliation is
continuous).

Why each rule:
- A local open order the broker lists as open: adopt the broker's fills and status.
- A local open order the broker does not list as open: it ended (or never landed) while
  we were not listening; look it up by client_order_id.
- Those are answered in bulk first, not one request each: ``GET /v2/orders?status=all``
  from the oldest one's creation (minus a margin for clock skew), paged forward. At 100-200
  orders a second a stream gap leaves hundreds to answer; per-order lookups (50 a round,
  Alpaca allows 200 requests a minute) left a stop reporting numbers the broker did not have.
- One the complete history does not show, sent (or unknown) and older than the horizon,
  never reached the broker and never will: abandon it by age, with no request of its own
  (under a continuous 429 a per-order lookup may never get its turn). Younger ones wait.
- Per-order lookups only for what the history cannot answer (it was cut short, or an
  acknowledged order is missing from it), oldest first, within a budget per round.
- A lookup that finds nothing: as above, abandon when sent or unknown and old.
- A broker open order we do not know: placed outside the engine (dashboard, another tool,
  the kill switch's flatten): adopt it as ``external`` so risk counts it.
- A position that differs after every order agrees: corrected to the broker's, but only
  when the same difference was seen twice with no fill in between, so a fill still on
  its way on the stream is not counted twice. At start-up, before trading, the broker's
  positions are taken at once (:func:`startup_corrections`).
Every position taken is a :class:`~tradewire.engine.events.PositionCorrected` the ledger
records, so the journal says it and replay rebuilds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tradewire.engine import orders as o
from tradewire.engine.events import PositionCorrected
from tradewire.engine.positions import PositionBook
from tradewire.engine.translate import OrderFact

_MAY_BE_MISSING = (o.OrderStatus.SENT, o.OrderStatus.UNKNOWN)
_QTY_EPS = 1e-9  # float residue allowed on quantities (fractional shares go to 9 places)


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
            if abs(book.qty(symbol) - qty) > _QTY_EPS:
                seen[symbol] = (qty, avg)
        confirmed = {
            s: v
            for s, v in seen.items()
            if self.suspects.get(s) == v and self.fills_at_suspicion == fills
        }
        self.suspects = {s: v for s, v in seen.items() if s not in confirmed}
        self.fills_at_suspicion = fills
        return confirmed


def history_after_ns(oms: o.OrderManager, cids: list[str], *, margin_ns: int) -> int | None:
    """The exclusive lower bound on broker submission time that covers every one of ``cids``.

    An order is created here before its POST leaves, so the broker's ``submitted_at`` is
    later, give or take the two clocks' skew: ``margin_ns`` covers that.
    """
    created = [oms.orders[c].created_ns for c in cids if c in oms.orders]
    return min(created) - margin_ns if created else None


@dataclass(slots=True)
class Resolution:
    """What to do with the local open orders the broker does not list as open."""

    adopt: list[OrderFact] = field(default_factory=list)  # the history has it: its outcome
    abandon: list[str] = field(default_factory=list)  # nowhere, old enough: never landed
    waiting: list[str] = field(default_factory=list)  # nowhere, too young to say
    lookup: list[str] = field(default_factory=list)  # ask one by one, oldest first
    deferred: list[str] = field(default_factory=list)  # over this round's lookup budget


def resolve_missing(
    oms: o.OrderManager,
    missing: list[str],
    history: dict[str, OrderFact],
    *,
    complete: bool,
    now_ns: int,
    horizon_ns: int,
    max_lookups: int,
) -> Resolution:
    """Answer each of ``missing`` (see :func:`plan_orders`) from the broker's history.

    ``history`` is every broker order (by client_order_id) submitted after
    :func:`history_after_ns` of ``missing``; ``complete`` says the pages ran to the end. Only
    a complete history lets absence mean something.
    """
    res = Resolution()
    ask: list[o.Order] = []
    for cid in missing:
        fact = history.get(cid)
        if fact is not None:
            res.adopt.append(fact)
            continue
        order = oms.orders.get(cid)
        if order is None:
            continue
        if complete and order.status in _MAY_BE_MISSING:
            if missing_means_abandon(order, now_ns=now_ns, horizon_ns=horizon_ns):
                res.abandon.append(cid)
            else:
                res.waiting.append(cid)
            continue
        ask.append(order)  # the history was cut short, or an acknowledged order is not in it
    ask.sort(key=lambda order: order.created_ns)
    res.lookup = [order.client_order_id for order in ask[:max_lookups]]
    res.deferred = [order.client_order_id for order in ask[max_lookups:]]
    return res


def startup_corrections(
    book: PositionBook, journaled: PositionBook, broker: dict[str, tuple[float, float]]
) -> list[PositionCorrected]:
    """The positions to take from the broker at start-up, before trading (reason ``start-up``).

    ``book`` is the live book (the start-up round's fills), ``journaled`` what the journal's
    replay believed, ``broker`` symbol -> (qty, avg price). A broker position either book
    does not hold as it stands is corrected to the broker's; a symbol either book holds and
    the broker does not, to flat. Both books count: a correction the live book does not need
    may still be one the journal's replay needs, and the reverse.
    """
    out: list[PositionCorrected] = []
    for symbol, (qty, avg) in broker.items():
        here, there = book.get(symbol), journaled.get(symbol)
        if any(
            abs(p.qty - qty) > _QTY_EPS or abs(p.avg_price - avg) > _QTY_EPS * max(1.0, abs(avg))
            for p in (here, there)
        ):
            out.append(PositionCorrected(symbol, qty, avg, "start-up"))
    held = {s for b in (book, journaled) for s, p in b.positions.items() if p.qty}
    out.extend(PositionCorrected(s, 0.0, 0.0, "start-up") for s in sorted(held - set(broker)))
    return out
