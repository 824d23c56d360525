"""Reconciliation decisions, sans-I/O: which orders to adopt, look up or abandon."""

from __future__ import annotations

from tradewire.engine import orders as o
from tradewire.engine.positions import PositionBook
from tradewire.engine.reconcile import (
    PositionCheck,
    history_after_ns,
    missing_means_abandon,
    plan_orders,
    resolve_missing,
)
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


def aged(**orders: tuple[o.OrderStatus, int]) -> o.OrderManager:
    m = o.OrderManager()
    for cid, (status, created_s) in orders.items():
        m.create(o.Order(cid, "A", "buy", 10, "limit", 10.0, created_ns=created_s * SEC))
        m.orders[cid].status = status  # arrange only
    return m


def test_history_window_starts_before_the_oldest_missing_order_by_the_margin():
    m = aged(a=(o.OrderStatus.NEW, 100), b=(o.OrderStatus.NEW, 40), c=(o.OrderStatus.NEW, 10))
    assert history_after_ns(m, ["a", "b"], margin_ns=5 * SEC) == 35 * SEC
    assert history_after_ns(m, [], margin_ns=5 * SEC) is None


def test_the_history_answers_every_missing_order_with_no_lookup():
    # 200 acknowledged orders the stream never finished: the bulk history has each one
    m = aged(**{f"c{i}": (o.OrderStatus.NEW, i) for i in range(200)})
    history = {f"c{i}": OrderFact(f"c{i}", "filled" if i % 2 else "canceled") for i in range(200)}

    res = resolve_missing(
        m,
        list(m.orders),
        history,
        complete=True,
        now_ns=300 * SEC,
        horizon_ns=30 * SEC,
        max_lookups=50,
    )

    assert len(res.adopt) == 200
    assert res.lookup == res.deferred == res.abandon == res.waiting == []


def test_an_unsent_order_nowhere_in_a_complete_history_is_abandoned_by_age_without_a_lookup():
    m = aged(
        old_unknown=(o.OrderStatus.UNKNOWN, 0),
        old_sent=(o.OrderStatus.SENT, 1),
        young_unknown=(o.OrderStatus.UNKNOWN, 95),
        acked=(o.OrderStatus.NEW, 2),
    )

    res = resolve_missing(
        m,
        list(m.orders),
        {},
        complete=True,
        now_ns=100 * SEC,
        horizon_ns=30 * SEC,
        max_lookups=50,
    )

    assert res.abandon == ["old_unknown", "old_sent"]
    assert res.waiting == ["young_unknown"]
    assert res.lookup == ["acked"]  # the broker acknowledged it: absence is not proof


def test_a_cut_short_history_proves_no_absence_and_lookups_go_oldest_first_within_budget():
    m = aged(
        c=(o.OrderStatus.UNKNOWN, 30),
        a=(o.OrderStatus.UNKNOWN, 10),
        d=(o.OrderStatus.NEW, 40),
        b=(o.OrderStatus.SENT, 20),
    )

    res = resolve_missing(
        m,
        ["c", "a", "d", "b"],
        {},
        complete=False,
        now_ns=100 * SEC,
        horizon_ns=30 * SEC,
        max_lookups=2,
    )

    assert res.abandon == []
    assert res.lookup == ["a", "b"]
    assert res.deferred == ["c", "d"]


def test_start_up_corrects_every_position_the_broker_holds_and_zeroes_the_rest():
    # Start-up used to overwrite the book with set_position: no event, no journal record.
    from tradewire.engine.events import PositionCorrected
    from tradewire.engine.reconcile import startup_corrections

    live = PositionBook()  # after the start-up round: one fill adopted
    live.apply_fill("A", "buy", 5, 10.0)
    journaled = PositionBook()  # what the journal's replay believed
    journaled.apply_fill("A", "buy", 5, 10.0)
    journaled.apply_fill("GONE", "buy", 1, 3.0)
    broker = {"A": (5.0, 10.0), "B": (-2.0, 7.0)}
    fixes = startup_corrections(live, journaled, broker)
    assert sorted(fixes, key=lambda e: e.symbol) == [
        PositionCorrected("B", -2.0, 7.0, "start-up"),
        PositionCorrected("GONE", 0.0, 0.0, "start-up"),
    ]
