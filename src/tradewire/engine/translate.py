"""Every broker status and event name becomes an engine event here, and only here.

Alpaca names an order's state twice: as a trade_updates event (``fill``, ``pending_new``…)
and as an order status in REST replies (``filled``, ``partially_filled``…). Both were
translated in three places once, and the copies disagreed; now the stream, REST replies,
lookups, start-up recovery and the reconciler all call these two functions.

The facts arrive as plain numbers (floats already parsed by the venue layer), so this
module stays free of venue imports.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradewire.engine import orders as o
from tradewire.engine.multileg import Leg, LegFill

# Every trade_updates event of reference/alpaca.md section 8, and its meaning. ``stopped``,
# ``calculated``, ``suspended`` and ``restated`` report a status the order is still open
# in (alpaca-py keeps them as plain strings or its enum): they acknowledge the order and
# move nothing else.
_ACKS = frozenset(
    {"accepted", "pending_new", "stopped", "calculated", "suspended", "restated", "held"}
)
_EVENT_NAMES: dict[str, o.OrderEvent] = {
    "canceled": o.Canceled(),
    "expired": o.Expired(),
    "rejected": o.Rejected("rejected by venue"),
    "replaced": o.Replaced(),
    "done_for_day": o.DoneForDay(),
    "pending_cancel": o.CancelRequested(),
    "pending_replace": o.ReplaceRequested(),
}

# Events no single engine event can express: ``trade_bust`` reverses an execution already
# booked; the broker's own totals (orders, FILL activities, positions) must decide.
RECONCILE_EVENTS = frozenset({"trade_bust"})

# Order statuses that end an order, and the event that ends it.
_ENDS: dict[str, o.OrderEvent] = {
    "canceled": o.Canceled(),
    "expired": o.Expired(),
    "rejected": o.Rejected("rejected by venue"),
    "replaced": o.Replaced(),
    "done_for_day": o.DoneForDay(),
}


# Engine record kinds as a strategy's OrderUpdate names them (Alpaca's event names).
UPDATE_NAMES = {
    "ack": "accepted",
    "cancel_req": "pending_cancel",
    "replace_req": "pending_replace",
    "cancel_rejected": "order_cancel_rejected",
    "replace_rejected": "order_replace_rejected",
}


def event_from_trade_update(
    event: str,
    *,
    execution_id: str | None,
    qty: float | None,
    price: float | None,
    broker_id: str = "",
    cumulative_filled: float | None = None,
    cumulative_avg: float | None = None,
    reason: str | None = None,
    replaced_by: str | None = None,
    legs: tuple[LegFill, ...] = (),
) -> o.OrderEvent | None:
    """Map a trade_updates event name to an engine event (``None``: not ours to act on:
    an unknown name, a fill without numbers, or one of :data:`RECONCILE_EVENTS`).

    ``reason`` is the event's top-level ``reason`` (rejections and refused cancels or
    replaces); alpaca-py's model does not name it, so it is read as free text when present.
    """
    if event in ("fill", "partial_fill"):
        if qty is None or price is None:
            return None
        exec_id = execution_id or f"{broker_id}:{cumulative_filled}"
        cls = o.Fill if event == "fill" else o.PartialFill
        return cls(exec_id, qty, price, cumulative_filled, cumulative_avg, legs)
    if event == "new":
        return o.New(broker_id)
    if event in _ACKS:
        return o.Accepted(broker_id)
    if event == "rejected":
        return o.Rejected(reason or "rejected by venue")
    if event == "order_cancel_rejected":
        return o.CancelRejected(reason or "")
    if event == "order_replace_rejected":
        return o.ReplaceRejected(reason or "")
    if event == "replaced":
        return o.Replaced(replaced_by or "")
    return _EVENT_NAMES.get(event)


@dataclass(frozen=True, slots=True)
class OrderFact:
    """What the broker says of one order at one moment (a REST reply or a lookup)."""

    client_order_id: str
    status: str
    broker_id: str = ""
    filled_qty: float = 0.0
    filled_avg_price: float = 0.0
    symbol: str = ""
    side: str = ""
    qty: float = 0.0
    order_type: str = ""
    limit_price: float | None = None
    notional: float = 0.0  # a notional order's dollars (``qty`` is 0 until it fills)
    replaces: str = ""  # the broker id of the order this one replaced
    # A multi-leg order's legs (engine/multileg.py) and each leg's cumulative fill.
    legs: tuple[Leg, ...] = ()
    leg_fills: tuple[LegFill, ...] = ()
    leg_ids: tuple[str, ...] = ()  # the legs' broker ids (their own trade updates name them)


def legs_filled(prefix: str, legs: tuple[LegFill, ...]) -> o.PartialFill:
    """What a multi-leg order's legs filled while no whole unit of it did (a leg's own
    update, or a parent whose legs fill apart): a partial fill of no units, carrying the
    legs' cumulative figures, which the ledger books leg by leg (engine/multileg.py)."""
    done = ",".join(f"{f.symbol}={f.filled_qty}" for f in legs)
    return o.PartialFill(f"{prefix}:legs:{done}", 0.0, 0.0, None, None, legs)


def events_from_fact(fact: OrderFact) -> list[o.OrderEvent]:
    """The events that bring a local order to the broker's view of it.

    Applied in order: acknowledged, then the fills the broker counts (as one cumulative
    fill, which the state machine books only where it is ahead of ours), then how it ended.
    Replaying a stale fact is harmless: the table absorbs moves backwards.
    """
    events: list[o.OrderEvent] = [o.Accepted(fact.broker_id)]
    if fact.status == "new":
        events.append(o.New(fact.broker_id))
    if fact.filled_qty > 0:
        cls = o.Fill if fact.status == "filled" else o.PartialFill
        events.append(
            cls(
                f"reconcile:{fact.client_order_id}:{fact.filled_qty}",
                fact.filled_qty,
                fact.filled_avg_price,
                fact.filled_qty,
                fact.filled_avg_price,
                fact.leg_fills,
            )
        )
    elif any(f.filled_qty > 0 for f in fact.leg_fills):
        events.append(legs_filled(f"reconcile:{fact.client_order_id}", fact.leg_fills))
    end = _ENDS.get(fact.status)
    if end is not None:
        events.append(end)
    elif fact.status == "pending_cancel":
        events.append(o.CancelRequested())
    return events
