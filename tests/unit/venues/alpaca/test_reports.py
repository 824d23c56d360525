"""Alpaca's orders and fill activities become engine facts here, and only here (issue 21,
CORE.md finding 2: the reconciler built fills from activities itself, and ``fact_from`` sat
in a host module)."""

from __future__ import annotations

from decimal import Decimal

from tradewire.engine import orders as o
from tradewire.engine.translate import OrderFact
from tradewire.venues.alpaca.messages import FillActivity, Order
from tradewire.venues.alpaca.reports import fact_from, fill_from_activity


def _activity(**kw: object) -> FillActivity:
    base: dict[str, object] = {
        "id": "20261204093000000::a1",
        "transaction_time": "2026-12-04T14:30:00Z",
        "type": "partial_fill",
        "price": Decimal("10.5"),
        "qty": Decimal(3),
        "side": "buy",
        "symbol": "A",
        "order_id": "b1",
        "cum_qty": Decimal(3),
        "order_status": "partially_filled",
    }
    return FillActivity(**{**base, **kw})  # type: ignore[arg-type]


def test_an_activity_is_a_partial_fill_with_the_brokers_cumulative():
    fill = fill_from_activity(_activity())
    assert fill == o.PartialFill("activity:20261204093000000::a1", 3.0, 10.5, 3.0, None)


def test_an_activity_that_completed_its_order_is_a_fill():
    fill = fill_from_activity(_activity(order_status="filled", cum_qty=None))
    assert fill == o.Fill("activity:20261204093000000::a1", 3.0, 10.5, None, None)


def test_a_broker_order_is_an_order_fact():
    b = Order(
        id="b1",
        client_order_id="c1",
        status="partially_filled",
        symbol="A",
        side="buy",
        type="limit",
        qty=Decimal(10),
        filled_qty=Decimal(4),
        filled_avg_price=Decimal("10.25"),
        limit_price=Decimal("10.5"),
    )
    assert fact_from(b) == OrderFact(
        "c1", "partially_filled", "b1", 4.0, 10.25, "A", "buy", 10.0, "limit", 10.5, 0.0, ""
    )
