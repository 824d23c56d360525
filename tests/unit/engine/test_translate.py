"""Broker status names become engine events in one place."""

from __future__ import annotations

import pytest

from tradewire.engine import orders as o
from tradewire.engine import translate
from tradewire.engine.translate import OrderFact, events_from_fact


@pytest.mark.parametrize(
    ("status", "last"),
    [
        ("canceled", o.Canceled),
        ("expired", o.Expired),
        ("rejected", o.Rejected),
        ("replaced", o.Replaced),
        ("done_for_day", o.DoneForDay),
        ("pending_cancel", o.CancelRequested),
    ],
)
def test_an_ended_status_ends_the_order(status, last):
    events = events_from_fact(OrderFact("c1", status, "b1"))
    assert isinstance(events[0], o.Accepted)
    assert isinstance(events[-1], last)


def test_fills_become_one_cumulative_fill_that_books_only_what_is_missing():
    fact = OrderFact("c1", "partially_filled", "b1", filled_qty=4, filled_avg_price=10.5)
    m = o.OrderManager()
    m.create(o.Order("c1", "A", "buy", 10, "limit", 11.0))
    m.apply("c1", o.PartialFill("e1", 3, 10.0))
    for event in events_from_fact(fact):
        m.apply("c1", event)
    order = m.orders["c1"]
    assert order.filled_qty == 4
    assert order.avg_fill_price == pytest.approx(10.5)
    assert order.status is o.OrderStatus.PARTIALLY_FILLED
    # the same fact again changes nothing
    for event in events_from_fact(fact):
        assert not m.apply("c1", event).changed


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("new", o.New),
        ("accepted", o.Accepted),
        ("pending_new", o.Accepted),
        ("canceled", o.Canceled),
        ("expired", o.Expired),
        ("rejected", o.Rejected),
        ("replaced", o.Replaced),
        ("done_for_day", o.DoneForDay),
        ("pending_cancel", o.CancelRequested),
        ("fill", o.Fill),
        ("partial_fill", o.PartialFill),
    ],
)
def test_event_from_trade_update_maps_alpaca_events(name, expected):
    event = translate.event_from_trade_update(
        name, execution_id="x", qty=1.0, price=2.0, broker_id="b"
    )
    assert type(event) is expected


def test_event_from_trade_update_ignores_unknown_and_fills_without_price():
    assert (
        translate.event_from_trade_update(
            "brand_new_event", execution_id=None, qty=None, price=None
        )
        is None
    )
    assert translate.event_from_trade_update("fill", execution_id="x", qty=1.0, price=None) is None


# -- finding 16: every event of the reference has a meaning -----------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("order_cancel_rejected", o.CancelRejected),
        ("order_replace_rejected", o.ReplaceRejected),
        ("pending_replace", o.ReplaceRequested),
        # status updates that keep the order open and known
        ("stopped", o.Accepted),
        ("calculated", o.Accepted),
        ("suspended", o.Accepted),
        ("restated", o.Accepted),
    ],
)
def test_rare_events_have_their_state_machine_meaning(name, expected):
    event = translate.event_from_trade_update(
        name, execution_id=None, qty=None, price=None, broker_id="b"
    )
    assert type(event) is expected


def test_a_trade_bust_is_handed_to_reconciliation():
    assert "trade_bust" in translate.RECONCILE_EVENTS
    assert (
        translate.event_from_trade_update("trade_bust", execution_id="x", qty=1.0, price=2.0)
        is None
    )


def test_the_reason_field_is_read():
    rejected = translate.event_from_trade_update(
        "rejected", execution_id=None, qty=None, price=None, reason="insufficient buying power"
    )
    refused = translate.event_from_trade_update(
        "order_cancel_rejected", execution_id=None, qty=None, price=None, reason="order filled"
    )
    assert rejected == o.Rejected("insufficient buying power")
    assert refused == o.CancelRejected("order filled")
