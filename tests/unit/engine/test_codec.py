"""The journal codec: every event survives encode -> record -> decode, and replay = live."""

from __future__ import annotations

import pytest

from tradewire.engine import orders as o
from tradewire.engine.codec import decode, encode, replay
from tradewire.engine.journal import Journal, Record, read_journal

INTENT = {"symbol": "A", "side": "buy", "qty": 10, "type": "limit", "limit": 10.0, "strategy": "s"}

EVENTS = [
    o.Sent(), o.Unknown("timeout"), o.Accepted("b1"), o.New("b1"),
    o.PartialFill("e1", 4, 10.0), o.Fill("e2", 6, 11.0, 10.0, 10.6), o.CancelRequested(),
    o.Canceled(), o.Expired(), o.DoneForDay(), o.ReplaceRequested(), o.Replaced("b2"),
    o.Rejected("no"), o.Abandoned(),
]  # fmt: skip


@pytest.mark.parametrize("event", EVENTS, ids=[type(e).__name__ for e in EVENTS])
def test_every_event_round_trips_through_a_record(event):
    kind, data = encode(event)
    assert decode(Record(kind, "c1", 1, data)) == event


def write(tmp_path, rows):
    j = Journal(tmp_path / "j.twj")
    for kind, cid, data in rows:
        j.append(kind, cid, data)
    j.close()
    return tmp_path / "j.twj"


def test_replay_rebuilds_order_states_and_in_doubt(tmp_path):
    path = write(tmp_path, [
        ("intent", "c1", INTENT), ("sent", "c1", None), ("ack", "c1", {"broker_id": "b1"}),
        ("fill", "c1", {"exec_id": "e1", "qty": 10, "price": 10.0}),
        ("intent", "c2", INTENT), ("sent", "c2", None),
        ("intent", "c3", INTENT),
        ("intent", "c4", INTENT), ("sent", "c4", None), ("unknown", "c4", {"reason": "timeout"}),
        ("denied", "c5", {"why": "max_qty"}),
    ])  # fmt: skip
    result = replay(read_journal(path).records)
    orders = result.manager.orders
    assert orders["c1"].status is o.OrderStatus.FILLED
    assert orders["c1"].broker_id == "b1"
    assert {x.client_order_id for x in result.in_doubt} == {"c2", "c3", "c4"}
    assert "c5" not in orders


def test_replay_of_fills_adopted_by_reconciliation_books_them(tmp_path):
    # A gap fill used to be journaled as a `resolved` note that replay skipped.
    path = write(tmp_path, [
        ("intent", "c1", INTENT), ("ack", "c1", {"broker_id": "b1"}),
        ("fill", "c1", {"exec_id": "reconcile:c1:10", "qty": 10, "price": 10.5, "cum": 10, "cum_avg": 10.5}),
        ("external", "x1", dict(INTENT, side="sell", qty=5)), ("ack", "x1", {"broker_id": "b9"}),
    ])  # fmt: skip
    orders = replay(read_journal(path).records).manager.orders
    assert orders["c1"].status is o.OrderStatus.FILLED
    assert orders["c1"].avg_fill_price == 10.5
    assert orders["x1"].side == "sell"
    assert orders["x1"].is_open
