from __future__ import annotations

import pytest

from tradewire.engine.journal.store import MAGIC, Journal, read_journal
from tradewire.errors import JournalCorrupt

INTENT = {"symbol": "A", "side": "buy", "qty": 10, "type": "limit", "limit": 10.0, "strategy": "s"}


def test_journal_with_torn_tail_keeps_every_whole_record_and_truncates(tmp_path, write_journal):
    path = write_journal([("intent", f"c{i}", INTENT) for i in range(5)])
    whole = path.read_bytes()
    path.write_bytes(whole[:-7])  # a crash mid-write
    result = read_journal(path)
    assert [r.cid for r in result.records] == ["c0", "c1", "c2", "c3"]
    assert result.error == "torn record payload"
    assert path.stat().st_size == len(whole) - 7 - result.truncated_bytes
    assert read_journal(path).truncated_bytes == 0  # repaired
    Journal(path).append("intent", "c9", INTENT)  # appending after repair works
    assert [r.cid for r in read_journal(path).records][-1] == "c9"


def test_journal_with_corrupt_record_before_others_is_refused_untouched(tmp_path, write_journal):
    path = write_journal([("intent", "c0", INTENT), ("intent", "c1", INTENT)])
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
