"""Reconciliation decisions, sans-I/O: which orders to adopt, look up or abandon."""

from __future__ import annotations

from tradewire.engine import orders as o
from tradewire.engine.positions import PositionBook
from tradewire.engine.reconcile import PositionCheck, missing_means_abandon, plan_orders
from tradewire.engine.translate import OrderFact

SEC = 1_000_000_000


def manager(**statuses: o.OrderStatus) -> o.OrderManager:
    m = o.OrderManager()
    for cid, status in statuses.items():
        m.create(o.Order(cid, "A", "buy", 10, "limit", 10.0, created_ns=0))
        m.orders[cid].status = status  # arrange only
    return m


def test_plan_adopts_listed_looks_up_the_rest_and_adopts_strangers():
    m = manager(
        listed=o.OrderStatus.NEW,
        gone=o.OrderStatus.NEW,
        unsent=o.OrderStatus.INTENT,
        settling=o.OrderStatus.SENT,
        done=o.OrderStatus.FILLED,
    )
    broker = [
        OrderFact("listed", "new", "b1"),
        OrderFact("stranger", "new", "b9", symbol="A", qty=5),
    ]

    plan = plan_orders(m, broker, settling={"settling"})

    assert [f.client_order_id for f in plan.adopt] == ["listed"]
    assert [f.client_order_id for f in plan.external] == ["stranger"]
    assert plan.lookup == ["gone"]  # not the intent, not one still settling, not one ended


def test_missing_order_is_abandoned_only_when_sent_or_unknown_and_old():
    m = manager(sent=o.OrderStatus.SENT, unknown=o.OrderStatus.UNKNOWN, acked=o.OrderStatus.NEW)
    assert missing_means_abandon(m.orders["sent"], now_ns=31 * SEC, horizon_ns=30 * SEC)
    assert missing_means_abandon(m.orders["unknown"], now_ns=31 * SEC, horizon_ns=30 * SEC)
    assert not missing_means_abandon(m.orders["sent"], now_ns=29 * SEC, horizon_ns=30 * SEC)
    assert not missing_means_abandon(m.orders["acked"], now_ns=99 * SEC, horizon_ns=30 * SEC)


def test_position_difference_is_corrected_only_when_seen_twice_with_no_fill_between():
    book = PositionBook()
    book.apply_fill("A", "buy", 10, 100.0)
    check = PositionCheck()

    # first sight: a suspect, not a correction (a fill may be on its way on the stream)
    assert check.compare(book, {"A": (15.0, 101.0)}, fills=1) == {}
    # a fill in between: start over
    assert check.compare(book, {"A": (15.0, 101.0)}, fills=2) == {}
    # the same difference, no fill in between: correct it
    assert check.compare(book, {"A": (15.0, 101.0)}, fills=2) == {"A": (15.0, 101.0)}
    # a symbol the broker no longer holds is a difference too
    assert check.compare(book, {}, fills=2) == {}
    assert check.compare(book, {}, fills=2) == {"A": (0.0, 0.0)}
