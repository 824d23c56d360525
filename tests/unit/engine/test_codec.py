"""The journal codec: every event survives encode -> record -> decode, and replay = live."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradewire.engine import orders as o
from tradewire.engine.journal.codec import decode, encode
from tradewire.engine.journal.record import Record
from tradewire.engine.journal.replay import replay
from tradewire.engine.journal.store import Journal, read_journal

INTENT = {"symbol": "A", "side": "buy", "qty": 10, "type": "limit", "limit": 10.0, "strategy": "s"}

EVENTS = [
    o.Sent(),
    o.Unknown("timeout"),
    o.Accepted("b1"),
    o.New("b1"),
    o.PartialFill("e1", 4, 10.0),
    o.Fill("e2", 6, 11.0, 10.0, 10.6),
    o.CancelRequested(),
    o.Canceled(),
    o.Expired(),
    o.DoneForDay(),
    o.ReplaceRequested(),
    o.Replaced("b2"),
    o.Rejected("no"),
    o.Abandoned(),
    o.CancelRejected("order is filled"),
    o.ReplaceRejected("order is filled"),
]


@pytest.mark.parametrize("event", EVENTS, ids=[type(e).__name__ for e in EVENTS])
def test_every_event_round_trips_through_a_record(event):
    kind, data = encode(event)
    assert decode(Record(kind, "c1", 1, data)) == event


def test_replay_rebuilds_order_states_and_in_doubt(tmp_path, write_journal):
    path = write_journal(
        [
            ("intent", "c1", INTENT),
            ("sent", "c1", None),
            ("ack", "c1", {"broker_id": "b1"}),
            ("fill", "c1", {"exec_id": "e1", "qty": 10, "price": 10.0}),
            ("intent", "c2", INTENT),
            ("sent", "c2", None),
            ("intent", "c3", INTENT),
            ("intent", "c4", INTENT),
            ("sent", "c4", None),
            ("unknown", "c4", {"reason": "timeout"}),
            ("denied", "c5", {"why": "max_qty"}),
        ]
    )
    result = replay(read_journal(path).records)
    orders = result.manager.orders
    assert orders["c1"].status is o.OrderStatus.FILLED
    assert orders["c1"].broker_id == "b1"
    assert {x.client_order_id for x in result.in_doubt} == {"c2", "c3", "c4"}
    assert "c5" not in orders


def test_replay_of_fills_adopted_by_reconciliation_books_them(tmp_path, write_journal):
    # A gap fill used to be journaled as a `resolved` note that replay skipped.
    path = write_journal(
        [
            ("intent", "c1", INTENT),
            ("ack", "c1", {"broker_id": "b1"}),
            (
                "fill",
                "c1",
                {
                    "exec_id": "reconcile:c1:10",
                    "qty": 10,
                    "price": 10.5,
                    "cum": 10,
                    "cum_avg": 10.5,
                },
            ),
            ("external", "x1", dict(INTENT, side="sell", qty=5)),
            ("ack", "x1", {"broker_id": "b9"}),
        ]
    )
    orders = replay(read_journal(path).records).manager.orders
    assert orders["c1"].status is o.OrderStatus.FILLED
    assert orders["c1"].avg_fill_price == 10.5
    assert orders["x1"].side == "sell"
    assert orders["x1"].is_open


# -- finding 16: segments, snapshots and eviction keep a long day bounded ----------------------


def test_rotation_starts_a_segment_with_a_snapshot_that_replays_to_the_same_open_state(tmp_path):
    from tradewire.engine.journal.codec import snapshot_records

    # Arrange: 300 orders, most of them ended, a few open and partly filled
    path = tmp_path / "j.twj"
    j = Journal(path)
    rows = []
    for i in range(300):
        cid = f"c{i}"
        rows += [("intent", cid, INTENT), ("ack", cid, {"broker_id": f"b{i}"})]
        if i % 50:
            rows.append(("fill", cid, {"exec_id": f"e{i}", "qty": 10, "price": 10.0}))
        else:
            rows.append(("partial_fill", cid, {"exec_id": f"e{i}", "qty": 4, "price": 9.5}))
    for kind, cid, data in rows:
        j.append(kind, cid, data)
    before = replay(read_journal(path).records).manager

    # Act
    archived = j.rotate(snapshot_records(before))
    j.append("canceled", "c0")
    j.close()

    # Assert: the live segment holds only the open orders and what came after
    after = replay(read_journal(path).records).manager
    assert archived.exists()
    assert len(read_journal(archived).records) == len(rows)
    assert set(after.orders) == {f"c{i}" for i in range(0, 300, 50)}
    assert after.orders["c0"].status is o.OrderStatus.CANCELED
    c50 = after.orders["c50"]
    assert (c50.status, c50.filled_qty, c50.avg_fill_price, c50.broker_id) == (
        o.OrderStatus.PARTIALLY_FILLED,
        4,
        9.5,
        "b50",
    )
    assert "e50" in c50.executions
    assert after.working_qty("A") == (5 * 6, 0.0)
    assert path.stat().st_size < archived.stat().st_size / 10


def test_terminal_orders_are_evicted_beyond_the_bound_and_open_ones_never():
    m = o.OrderManager()
    for i in range(100):
        m.create(o.Order(f"c{i}", "A", "buy", 1, "limit", 1.0))
        m.apply(f"c{i}", o.Accepted(f"b{i}"))
        if i % 10:
            m.apply(f"c{i}", o.Fill(f"e{i}", 1, 1.0))
    evicted = m.evict_terminal(keep=20)
    assert len(evicted) == 90 - 20
    assert all(m.orders[f"c{i}"].is_open for i in range(0, 100, 10))
    assert len(m.orders) == 10 + 20
    assert "b1" not in m.by_broker_id


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("intent", {}),  # a CRC-valid record that lost its fields
        ("intent", {"symbol": "AAPL", "side": "buy", "qty": "ten", "type": "limit"}),
        ("open", {"symbol": "AAPL", "side": "buy", "qty": 1, "status": "no-such-status"}),
        ("intent", {"symbol": "AAPL", "side": "buy", "qty": float("nan")}),
    ],
)
def test_a_crc_valid_but_malformed_record_is_refused_by_name(kind, data):
    from tradewire.errors import JournalMalformed

    records = [Record(kind, "c-1", 1, data)]

    with pytest.raises(JournalMalformed, match=rf"record 1 is malformed: \({kind} c-1\)"):
        replay(records)


def test_a_malformed_event_record_after_a_good_intent_is_refused():
    from tradewire.errors import JournalMalformed

    good = Record("intent", "c-1", 1, _intent_data())
    bad = Record("fill", "c-1", 2, {"qty": "x", "price": None})

    with pytest.raises(JournalMalformed, match=r"record 2 is malformed: \(fill c-1\)"):
        replay([good, bad])


def _intent_data() -> dict[str, object]:
    return {"symbol": "AAPL", "side": "buy", "qty": 10, "type": "limit", "limit": 100.0}


def test_an_adopted_notional_order_replays(tmp_path, write_journal):
    # A notional order found at the broker is journaled with its notional, quantity unknown
    from tradewire.engine.journal.codec import order_data
    from tradewire.engine.journal.replay import replay

    order = o.Order("n1", "A", "buy", 0.0, "market", notional=500.0, ref_price=100.0)
    rec = Record("external", "n1", 1, order_data(order, broker_id="b1"))
    result = replay([rec])
    assert result.manager.orders["n1"].notional == 500.0
    assert result.manager.working_notional == pytest.approx(500.0)


def test_a_crypto_day_is_journaled_with_its_start_pnl_and_replayed(tmp_path: Path) -> None:
    # Before, the crypto day's start P&L lived only in memory: a restart later that day
    # counted the pairs' P&L from the replayed book, forgetting the day's earlier losses.
    from tradewire.engine.events import SessionStarted
    from tradewire.engine.ledger import Ledger
    from tradewire.engine.positions import PositionBook

    path = tmp_path / "j.twj"
    ledger = Ledger(o.OrderManager(), PositionBook(), Journal(path))
    ledger.book.apply_fill("BTC/USD", "buy", 1, 60_000.0)
    ledger.record(SessionStarted("2026-12-04", "crypto", -1_234.5))
    ledger.record(SessionStarted("2026-12-04"))
    ledger.journal.close()
    result = replay(read_journal(path).records)
    assert result.crypto_day == "2026-12-04"
    assert result.crypto_day_start_pnl == -1_234.5
    assert result.day == "2026-12-04"
