"""The journal's replication surface: ``on_frame`` sees the exact bytes each append wrote,
and ``append_frame`` copies such a frame verbatim or refuses it, writing nothing."""

from __future__ import annotations

import logging
import struct
import zlib

import msgspec
import pytest

from tradewire.engine.journal.record import Record
from tradewire.engine.journal.replay import replay
from tradewire.engine.journal.store import MAGIC, Journal, read_journal
from tradewire.errors import JournalCorrupt, JournalFrameRejected

HEAD = struct.Struct("<II")
INTENT = {"symbol": "A", "side": "buy", "qty": 10, "type": "limit", "limit": 10.0, "strategy": "s"}
T0 = 1_700_000_000_000_000_000


def frame_of(payload: bytes) -> bytes:
    return HEAD.pack(len(payload), zlib.crc32(payload)) + payload


def write_some(j: Journal) -> None:
    j.append("intent", "c1", INTENT, ts_ns=T0)
    j.append("ack", "c1", {"broker_id": "b1"}, ts_ns=T0 + 1)
    j.append("fill", "c1", {"exec_id": "e1", "qty": 10, "price": 10.0}, ts_ns=T0 + 2)
    j.append("position", "A", {"qty": 12.0, "avg": 9.5, "reason": "reconcile"}, ts_ns=T0 + 3)


def test_on_frame_is_unset_by_default_and_sees_each_frame_exactly_as_written(tmp_path):
    j = Journal(tmp_path / "a.twj")
    assert j.on_frame is None
    seen: list[bytes] = []
    j.on_frame = seen.append
    write_some(j)
    j.close()
    data = (tmp_path / "a.twj").read_bytes()
    assert data == MAGIC + b"".join(seen)
    assert len(seen) == 4
    assert all(type(f) is bytes for f in seen)


def test_a_raising_hook_is_logged_and_the_record_is_kept(tmp_path, caplog):
    j = Journal(tmp_path / "a.twj")

    def boom(frame: bytes) -> None:
        raise RuntimeError("hook broke")

    j.on_frame = boom
    with caplog.at_level(logging.ERROR):
        j.append("intent", "c1", INTENT, ts_ns=T0)
    j.close()
    assert "on_frame hook raised" in caplog.text
    assert [r.cid for r in read_journal(tmp_path / "a.twj").records] == ["c1"]


def test_frames_appended_verbatim_rebuild_the_same_journal_and_replay(tmp_path):
    src = Journal(tmp_path / "src.twj")
    frames: list[bytes] = []
    src.on_frame = frames.append
    write_some(src)
    src.close()
    mirror = Journal(tmp_path / "mirror.twj")
    for f in frames:
        mirror.append_frame(f)
    assert mirror.records_written == 4
    mirror.close()
    assert (tmp_path / "mirror.twj").read_bytes() == (tmp_path / "src.twj").read_bytes()
    a = replay(read_journal(tmp_path / "src.twj").records)
    b = replay(read_journal(tmp_path / "mirror.twj").records)
    assert a.manager.orders["c1"].status == b.manager.orders["c1"].status
    assert b.book.positions["A"].qty == 12.0


def test_append_frame_calls_the_hook_too(tmp_path):
    j = Journal(tmp_path / "m.twj")
    seen: list[bytes] = []
    j.on_frame = seen.append
    good = frame_of(msgspec.msgpack.encode(Record("intent", "c1", T0, INTENT)))
    j.append_frame(good)
    j.close()
    assert seen == [good]


def good_frame() -> bytes:
    return frame_of(msgspec.msgpack.encode(Record("intent", "c1", T0, INTENT)))


def flip(frame: bytes, at: int) -> bytes:
    b = bytearray(frame)
    b[at] ^= 0x01
    return bytes(b)


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (b"", "shorter than a record header"),
        (b"\x01\x02\x03", "shorter than a record header"),
        (good_frame()[:-1], "does not match"),
        (good_frame() + b"\x00", "does not match"),
        (good_frame() + good_frame(), "does not match"),
        (flip(good_frame(), 20), "CRC mismatch"),
        (flip(good_frame(), 5), "CRC mismatch"),
        (frame_of(b"\xc1not msgpack"), "undecodable record"),
        (frame_of(msgspec.msgpack.encode({"kind": "intent"})), "undecodable record"),
        (HEAD.pack(2**31, 0), "does not match"),
    ],
)
def test_a_bad_frame_is_refused_by_name_and_nothing_is_written(tmp_path, frame, problem):
    path = tmp_path / "m.twj"
    j = Journal(path)
    j.append_frame(good_frame())
    before = path.read_bytes()
    seen: list[bytes] = []
    j.on_frame = seen.append
    with pytest.raises(JournalFrameRejected) as info:
        j.append_frame(frame)
    assert isinstance(info.value, JournalCorrupt)
    assert problem in info.value.problem
    assert info.value.offset == len(before)
    assert str(path) in str(info.value)
    assert "nothing was appended" in str(info.value)
    assert j.records_written == 1
    assert seen == []
    j.close()
    assert path.read_bytes() == before
    assert len(read_journal(path).records) == 1


def test_a_fresh_mirror_file_starts_with_the_journal_header(tmp_path):
    j = Journal(tmp_path / "fresh.twj")
    j.close()
    assert (tmp_path / "fresh.twj").read_bytes() == MAGIC
