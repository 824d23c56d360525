from __future__ import annotations

import pytest

from tradewire.engine.journal import MAGIC, BrokerFact, Journal, read_journal, reconcile, replay
from tradewire.engine.orders import OrderStatus
from tradewire.errors import JournalCorrupt

INTENT = {"symbol": "A", "side": "buy", "qty": 10, "type": "limit", "limit": 10.0, "strategy": "s"}


def write(tmp_path, rows):
    j = Journal(tmp_path / "j.twj")
    for kind, cid, data in rows:
        j.append(kind, cid, data)
    j.close()
    return tmp_path / "j.twj"


def test_journal_with_torn_tail_keeps_every_whole_record_and_truncates(tmp_path):
    path = write(tmp_path, [("intent", f"c{i}", INTENT) for i in range(5)])
    whole = path.read_bytes()
    path.write_bytes(whole[:-7])  # a crash mid-write
    result = read_journal(path)
    assert [r.cid for r in result.records] == ["c0", "c1", "c2", "c3"]
    assert result.error == "torn record payload"
    assert path.stat().st_size == len(whole) - 7 - result.truncated_bytes
    assert read_journal(path).truncated_bytes == 0  # repaired
    Journal(path).append("intent", "c9", INTENT)  # appending after repair works
    assert [r.cid for r in read_journal(path).records][-1] == "c9"


def test_journal_with_corrupt_record_before_others_is_refused_untouched(tmp_path):
    path = write(tmp_path, [("intent", "c0", INTENT), ("intent", "c1", INTENT)])
    data = bytearray(path.read_bytes())
    data[len(MAGIC) + 12] ^= 0xFF  # flip a byte inside the first payload
    path.write_bytes(bytes(data))
    with pytest.raises(JournalCorrupt, match="CRC mismatch"):
        read_journal(path)
    assert path.read_bytes() == bytes(data)


def test_journal_with_wrong_header_is_refused(tmp_path):
    bad = tmp_path / "x"
    bad.write_bytes(b"not a journal")
    with pytest.raises(JournalCorrupt, match="bad header"):
        read_journal(bad)


def test_journal_round_trip_rebuilds_order_states(tmp_path):
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
    assert orders["c1"].status is OrderStatus.FILLED
    assert orders["c1"].broker_id == "b1"
    assert {o.client_order_id for o in result.in_doubt} == {"c2", "c3", "c4"}
    assert "c5" not in orders


def test_reconcile_adopts_landed_and_abandons_missing_never_resends(tmp_path):
    path = write(
        tmp_path, [("intent", "c1", INTENT), ("sent", "c1", None), ("intent", "c2", INTENT)]
    )
    result = replay(read_journal(path).records)
    decisions = reconcile(result.in_doubt, {"c1": BrokerFact("filled", "b1", 10, 10.0)})
    assert {d.client_order_id: d.action for d in decisions} == {"c1": "adopt", "c2": "abandon"}
