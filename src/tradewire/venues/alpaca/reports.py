"""Alpaca's reports as the engine's facts: an order (REST reply, lookup, history, trade
update) becomes an :class:`~tradewire.engine.translate.OrderFact`, one execution from the
account's fill activities a fill event. Sans-I/O.

The venue says what its reports mean; the engine's hosts (``live/``) only fetch them and
hand the facts to the ledger (like NautilusTrader's ``generate_order_status_reports`` /
``generate_fill_reports`` on an adapter's execution client).
"""

from __future__ import annotations

from tradewire.engine import orders as o
from tradewire.engine.translate import OrderFact
from tradewire.venues.alpaca.messages import FillActivity
from tradewire.venues.alpaca.messages import Order as BrokerOrder


def fact_from(b: BrokerOrder) -> OrderFact:
    """The engine's view of one broker order (prices and sizes as floats)."""
    return OrderFact(
        b.client_order_id,
        b.status,
        b.id,
        float(b.filled_qty),
        float(b.filled_avg_price or 0),
        b.symbol or "",
        b.side or "",
        float(b.qty or 0),
        b.type or b.order_type or "",
        float(b.limit_price) if b.limit_price is not None else None,
        float(b.notional or 0),
        b.replaces or "",
    )


def fill_from_activity(act: FillActivity) -> o.Fill | o.PartialFill:
    """One execution of the account's fill activities, as the fill of its order.

    A ``Fill`` when it completed the order (``order_status`` ``filled``); the broker's
    cumulative quantity, when it says it, lets a fill seen by two routes count once.
    """
    cls = o.Fill if act.order_status == "filled" else o.PartialFill
    cum = float(act.cum_qty) if act.cum_qty is not None else None
    return cls(f"activity:{act.id}", float(act.qty), float(act.price), cum, None)
