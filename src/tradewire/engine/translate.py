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

_EVENT_NAMES: dict[str, o.OrderEvent] = {
    "accepted": o.Accepted(),
    "pending_new": o.Accepted(),
    "canceled": o.Canceled(),
    "expired": o.Expired(),
    "rejected": o.Rejected("rejected by venue"),
    "replaced": o.Replaced(),
    "done_for_day": o.DoneForDay(),
    "pending_cancel": o.CancelRequested(),
    "pending_replace": o.ReplaceRequested(),
}

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
) -> o.OrderEvent | None:
    """Map a trade_updates event name to an engine event (``None``: not ours to act on)."""
    if event in ("fill", "partial_fill"):
        if qty is None or price is None:
            return None
        exec_id = execution_id or f"{broker_id}:{cumulative_filled}"
        cls = o.Fill if event == "fill" else o.PartialFill
        return cls(exec_id, qty, price, cumulative_filled, cumulative_avg)
    if event == "new":
        return o.New(broker_id)
    found = _EVENT_NAMES.get(event)
    if isinstance(found, o.Accepted):
        return o.Accepted(broker_id)
    return found


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
            )
        )
    end = _ENDS.get(fact.status)
    if end is not None:
        events.append(end)
    elif fact.status == "pending_cancel":
        events.append(o.CancelRequested())
    return events
