from __future__ import annotations

import dataclasses

import pytest

from tradewire.engine import orders as o
from tradewire.engine.orders import TRANSITIONS, InvalidTransition, OrderManager, OrderStatus

SAMPLE_EVENTS: dict[type, o.OrderEvent] = {
    o.Sent: o.Sent(),
    o.Unknown: o.Unknown("timeout"),
    o.Accepted: o.Accepted("b1"),
    o.New: o.New("b1"),
    o.PartialFill: o.PartialFill("e1", 4, 10.0),
    o.Fill: o.Fill("e2", 10, 10.0),
    o.CancelRequested: o.CancelRequested(),
    o.Canceled: o.Canceled(),
    o.Expired: o.Expired(),
    o.DoneForDay: o.DoneForDay(),
    o.ReplaceRequested: o.ReplaceRequested(),
    o.Replaced: o.Replaced("b2"),
    o.Rejected: o.Rejected("no"),
    o.Abandoned: o.Abandoned(),
    o.CancelRejected: o.CancelRejected("too late"),
    o.ReplaceRejected: o.ReplaceRejected("too late"),
}

ROWS = [
    (status, etype, target) for status, row in TRANSITIONS.items() for etype, target in row.items()
]


def manager_in(status: OrderStatus) -> OrderManager:
    m = OrderManager()
    m.create(o.Order("c1", "A", "buy", 10, "limit", 10.0))
    m.orders["c1"].status = status  # arrange only: tests set the starting row directly
    return m


@pytest.mark.parametrize(
    ("status", "etype", "target"), ROWS, ids=[f"{s.value}-{e.__name__}" for s, e, _ in ROWS]
)
def test_transition_row_moves_to_its_target(status, etype, target):
    # Arrange
    m = manager_in(status)

    # Act
    applied = m.apply("c1", SAMPLE_EVENTS[etype])

    # Assert: a 10-share order's single 10-share Fill completes it; otherwise the table decides
    assert applied.after is target
    assert m.orders["c1"].status is target


def test_every_status_has_a_row_and_every_event_is_known():
    assert set(TRANSITIONS) == set(OrderStatus)
    assert {e for row in TRANSITIONS.values() for e in row} <= set(SAMPLE_EVENTS)


@pytest.mark.parametrize(
    ("status", "event"),
    [
        (OrderStatus.INTENT, o.Canceled()),
        (OrderStatus.FILLED, o.Rejected("late")),
        (OrderStatus.ABANDONED, o.Fill("x", 1, 1.0)),
    ],
)
def test_missing_rows_raise_invalid_transition(status, event):
    with pytest.raises(InvalidTransition):
        manager_in(status).apply("c1", event)


def test_duplicate_fill_by_execution_id_counts_once():
    m = manager_in(OrderStatus.NEW)
    m.apply("c1", o.PartialFill("e1", 4, 10.0))
    again = m.apply("c1", o.PartialFill("e1", 4, 10.0))
    assert not again.changed
    assert m.orders["c1"].filled_qty == 4
    m.apply("c1", o.Fill("e2", 6, 11.0))
    order = m.orders["c1"]
    assert order.status is OrderStatus.FILLED
    assert order.avg_fill_price == pytest.approx(10.6)


def test_fill_event_short_of_qty_is_partially_filled():
    m = manager_in(OrderStatus.NEW)
    assert m.apply("c1", o.Fill("e1", 3, 10.0)).after is OrderStatus.PARTIALLY_FILLED


def test_late_new_after_fill_is_ignored_and_open_count_tracks_terminal():
    m = manager_in(OrderStatus.SENT)
    assert m.open_count == 1
    m.apply("c1", o.Fill("e1", 10, 10.0))
    assert m.open_count == 0
    assert not m.apply("c1", o.New("b1")).changed
    assert m.ignored_events == 1


def test_broker_id_recorded_on_ack():
    m = manager_in(OrderStatus.SENT)
    m.apply("c1", o.Accepted("broker-9"))
    assert m.by_broker_id["broker-9"].client_order_id == "c1"


def test_create_with_existing_id_raises():
    m = manager_in(OrderStatus.INTENT)
    with pytest.raises(InvalidTransition, match="already exists"):
        m.create(o.Order("c1", "A", "buy", 1, "market"))


def test_order_is_a_plain_dataclass_with_status_default_intent():
    order = o.Order("c", "A", "buy", 1, "market")
    assert order.status is OrderStatus.INTENT
    assert dataclasses.is_dataclass(order)


# -- peer input is validated before it touches state (issue 10, finding 6) ---------------------


@pytest.mark.parametrize(
    "event",
    [
        o.Fill("e1", 500, 10.0),  # overfill of a 10-share order
        o.Fill("e1", -3, 10.0),
        o.Fill("e1", float("inf"), 10.0),
        o.Fill("e1", float("nan"), 10.0),
        o.PartialFill("e1", 3, float("nan")),
        o.PartialFill("e1", 3, float("inf")),
        o.PartialFill("e1", 3, -1.0),
        o.PartialFill("e1", 0, 10.0),
    ],
)
def test_invalid_fill_is_refused_and_leaves_the_order_untouched(event):
    # Arrange
    m = manager_in(OrderStatus.NEW)

    # Act / Assert
    with pytest.raises(o.InvalidFill):
        m.apply("c1", event)
    order = m.orders["c1"]
    assert order.filled_qty == 0
    assert order.status is OrderStatus.NEW
    assert m.refused_events == 1


def test_fill_with_cumulative_already_counted_is_a_duplicate():
    # A fill booked by reconciliation (cumulative 4) and then seen on the stream
    m = manager_in(OrderStatus.NEW)
    m.apply("c1", o.PartialFill("reconcile:c1:4", 4, 10.0, cumulative=4))
    again = m.apply("c1", o.PartialFill("real-exec-1", 4, 10.0, cumulative=4))
    assert not again.changed
    assert m.orders["c1"].filled_qty == 4


def test_fill_with_cumulative_beyond_local_books_the_missing_part_at_the_broker_average():
    # The stream missed the first execution (4 @ 10); the next says cumulative 10 @ avg 10.6
    m = manager_in(OrderStatus.NEW)
    applied = m.apply("c1", o.Fill("e2", 6, 11.0, cumulative=10, cumulative_avg=10.6))
    order = m.orders["c1"]
    assert applied.fill_qty == 10
    assert order.filled_qty == 10
    assert order.avg_fill_price == pytest.approx(10.6)
    assert order.status is OrderStatus.FILLED


def test_sent_order_found_missing_after_a_crash_can_be_abandoned():
    # SIGKILL while a POST was in flight left `sent`; restart found no such order
    m = manager_in(OrderStatus.SENT)
    assert m.apply("c1", o.Abandoned()).after is OrderStatus.ABANDONED
    assert m.open_count == 0


def test_working_quantities_follow_fills_and_ends():
    m = OrderManager()
    m.create(o.Order("b1", "A", "buy", 10, "limit", 10.0, ref_price=10.0))
    m.create(o.Order("s1", "A", "sell", 5, "limit", 11.0, ref_price=11.0))
    m.apply("b1", o.New("x1"))
    m.apply("s1", o.New("x2"))
    assert m.working_qty("A") == (10, 5)
    assert m.working_notional == pytest.approx(155.0)
    m.apply("b1", o.PartialFill("e1", 4, 10.0))
    assert m.working_qty("A") == (6, 5)
    m.apply("s1", o.Canceled())
    assert m.working_qty("A") == (6, 0)
    m.apply("b1", o.Fill("e2", 6, 10.0))
    assert m.working_qty("A") == (0, 0)
    assert m.working_notional == pytest.approx(0.0)


# -- finding 10: an overfill is refused, never clamped to what the order can hold ------------------


@pytest.mark.parametrize(
    "event",
    [
        # 500 on a 10-share order whose forged cumulative says 1: once booked as 1 share
        o.Fill("e1", 500, 10.0, cumulative=1, cumulative_avg=10.0),
        o.PartialFill("e1", 500, 10.0, cumulative=4, cumulative_avg=10.0),
        # the broker's cumulative itself beyond the order
        o.Fill("e1", 5, 10.0, cumulative=11, cumulative_avg=10.0),
    ],
)
def test_an_overfill_with_a_smaller_cumulative_is_refused_not_clamped(event):
    # Arrange
    m = manager_in(OrderStatus.NEW)

    # Act / Assert
    with pytest.raises(o.InvalidFill, match="overfill"):
        m.apply("c1", event)
    order = m.orders["c1"]
    assert (order.filled_qty, order.status) == (0, OrderStatus.NEW)
    assert m.refused_reasons == {"overfill": 1}


# -- finding 16: a refused cancel or replace leaves the order open, no longer pending -----------


@pytest.mark.parametrize(
    ("pending", "event"),
    [
        (OrderStatus.PENDING_CANCEL, o.CancelRejected("order is filling")),
        (OrderStatus.PENDING_REPLACE, o.ReplaceRejected("order is filling")),
    ],
)
def test_a_refused_request_returns_the_order_to_working(pending, event):
    # Arrange: 4 of 10 filled, then a cancel (or replace) asked for
    m = manager_in(OrderStatus.NEW)
    m.apply("c1", o.PartialFill("e1", 4, 10.0))
    m.orders["c1"].status = pending

    # Act
    applied = m.apply("c1", event)

    # Assert: working again, with its fills; open
    assert applied.after is OrderStatus.PARTIALLY_FILLED
    assert m.orders["c1"].is_open
    assert m.orders["c1"].reason == "order is filling"


def test_a_refused_cancel_of_an_unfilled_order_is_new_again():
    m = manager_in(OrderStatus.PENDING_CANCEL)
    assert m.apply("c1", o.CancelRejected()).after is OrderStatus.NEW


# -- finding 17: a notional order is counted by its notional; its quantity is known by fills -----


def test_a_notional_order_counts_its_notional_and_fills_without_overfill():
    # Arrange: $500 of A at a reference price of 100, quantity unknown
    m = OrderManager()
    m.create(o.Order("n1", "A", "buy", 0.0, "market", notional=500.0, ref_price=100.0))

    # Act / Assert: risk counts it while it works
    assert m.working_notional == pytest.approx(500.0)
    assert m.working_qty("A") == (pytest.approx(5.0), 0.0)
    applied = m.apply("n1", o.Fill("e1", 4.99001996, 100.2, cumulative=4.99001996))

    # Assert: a fill worth the notional completes it; nothing works any more
    assert applied.after is OrderStatus.FILLED
    assert m.orders["n1"].filled_qty == pytest.approx(4.99001996)
    assert m.working_notional == 0.0
    assert m.working_qty("A") == (0.0, 0.0)


def test_a_fill_worth_more_than_a_notional_order_is_an_overfill():
    m = OrderManager()
    m.create(o.Order("n1", "A", "buy", 0.0, "market", notional=500.0, ref_price=100.0))
    with pytest.raises(o.InvalidFill, match="overfill"):
        m.apply("n1", o.Fill("e1", 50, 100.0, cumulative=50))
