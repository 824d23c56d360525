"""The ledger's non-order beliefs: each is an event, journaled by the codec and rebuilt by replay.

Positions used to bypass the one outcome path: start-up and the reconciler set them with
``set_position`` and journaled (at most) a note replay skipped (issue 21, CORE.md finding 2).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tradewire.engine import orders as o
from tradewire.engine.events import Denied, KillEngaged, PositionCorrected, SessionStarted
from tradewire.engine.journal.codec import decode_belief, encode_belief, snapshot_records
from tradewire.engine.journal.record import Record
from tradewire.engine.journal.replay import replay
from tradewire.engine.journal.store import Journal, read_journal
from tradewire.engine.ledger import Ledger
from tradewire.engine.positions import PositionBook

INTENT = {"symbol": "A", "side": "buy", "qty": 10, "type": "limit", "limit": 10.0, "strategy": "s"}

BELIEFS = [
    PositionCorrected("A", -3.0, 50.5, "reconcile"),
    Denied("c9", "s", "A", "max_order_qty exceeded", "max_order_qty"),
    SessionStarted("2026-12-04"),
    KillEngaged("operator", True, 4),
]


def _ledger(path: Path) -> Ledger:
    return Ledger(o.OrderManager(), PositionBook(), Journal(path, fsync="never"))


@pytest.mark.parametrize("event", BELIEFS, ids=[type(e).__name__ for e in BELIEFS])
def test_every_belief_round_trips_through_a_record(event):
    kind, cid, data = encode_belief(event)
    assert decode_belief(Record(kind, cid, 1, data)) == event


def test_a_position_correction_goes_through_the_ledger_and_is_replayed(tmp_path):
    path = tmp_path / "j.twj"
    ledger = _ledger(path)
    ledger.create(o.Order("c1", "A", "buy", 10, "limit", 10.0, strategy="s"))
    ledger.apply("c1", o.Accepted("b1"))
    ledger.apply("c1", o.Fill("e1", 10, 10.0))
    ledger.record(PositionCorrected("A", 7.0, 10.0, "reconcile"))
    ledger.record(PositionCorrected("B", -2.0, 20.0, "start-up"))
    ledger.journal.close()
    assert (ledger.book.qty("A"), ledger.book.qty("B")) == (7.0, -2.0)
    assert ledger.corrections == 2

    result = replay(read_journal(path).records)
    assert result.book.qty("A") == 7.0
    assert result.book.qty("B") == -2.0
    assert result.book.get("B").avg_price == 20.0
    assert result.manager.orders["c1"].status is o.OrderStatus.FILLED


def test_replay_books_fills_into_the_position_book(tmp_path, write_journal):
    path = write_journal(
        [
            ("intent", "c1", INTENT),
            ("ack", "c1", {"broker_id": "b1"}),
            ("partial_fill", "c1", {"exec_id": "e1", "qty": 4, "price": 10.0}),
            ("fill", "c1", {"exec_id": "e2", "qty": 6, "price": 11.0}),
        ]
    )
    book = replay(read_journal(path).records).book
    assert book.qty("A") == 10.0
    assert book.get("A").avg_price == pytest.approx(10.6)


def test_session_kill_and_denial_are_journaled_and_replayed(tmp_path):
    path = tmp_path / "j.twj"
    ledger = _ledger(path)
    ledger.book.apply_fill("A", "buy", 1, 10.0)
    ledger.book.apply_fill("A", "sell", 1, 12.0)
    ledger.record(SessionStarted("2026-12-04"))
    assert ledger.book.daily_pnl == 0.0
    ledger.record(Denied("c9", "s", "A", "halted", "halted"))
    ledger.record(KillEngaged("operator", False, 2))
    ledger.journal.close()
    records = read_journal(path).records
    assert [r.kind for r in records] == ["new_day", "denied", "kill"]
    result = replay(records)
    assert result.day == "2026-12-04"
    assert result.denied == 1
    assert result.kill == KillEngaged("operator", False, 2)
    assert "c9" not in result.manager.orders


def test_old_journals_notes_are_read_as_the_events(tmp_path, write_journal):
    # The notes written beside the ledger before these events existed keep their meaning.
    path = write_journal(
        [
            ("position", "A", {"local": 3.0, "broker": 5.0, "avg": 12.0}),
            ("denied", "c5", {"why": "max_qty"}),
            ("new_day", "-", {"day": "2026-12-03"}),
            ("kill", "-", {"reason": "r", "flatten": True, "dropped": 0}),
            ("kill_result", "-", {"ok": True}),
        ]
    )
    result = replay(read_journal(path).records)
    assert result.book.qty("A") == 5.0
    assert result.book.get("A").avg_price == 12.0
    assert (result.denied, result.day) == (1, "2026-12-03")
    assert result.kill == KillEngaged("r", True, 0)
    assert decode_belief(Record("denied", "c5", 1, {"why": "max_qty"})) == Denied(
        "c5", "", "", "max_qty", ""
    )


def test_a_new_segment_keeps_the_positions(tmp_path):
    # A rotated journal starts from a snapshot: without the book in it, replay lost every
    # position booked before the rotation.
    book = PositionBook()
    book.apply_fill("A", "buy", 10, 10.0)
    book.apply_fill("B", "buy", 1, 5.0)
    book.apply_fill("B", "sell", 1, 6.0)  # flat: nothing to keep
    journal = Journal(tmp_path / "j.twj", fsync="never")
    for kind, cid, data in snapshot_records(o.OrderManager(), book):
        journal.append(kind, cid, data)
    journal.close()
    result = replay(read_journal(tmp_path / "j.twj").records)
    assert result.book.qty("A") == 10.0
    assert "B" not in result.book.positions


def test_the_book_hands_out_a_read_only_position():
    book = PositionBook()
    book.apply_fill("A", "buy", 10, 100.0)
    pos = book.get("A")
    with pytest.raises(AttributeError):
        pos.qty = 0.0  # type: ignore[misc]
    assert book.qty("A") == 10.0
    assert book.get("Z").qty == 0.0
    assert "Z" not in book.positions  # reading a symbol does not add it
