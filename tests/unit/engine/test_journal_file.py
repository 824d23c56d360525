"""The journal's file format under damage: only a torn final append is ever cut; anything
else is refused with the file left byte-for-byte as it was, and repair keeps the original."""

from __future__ import annotations

import logging
import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tradewire.app.journal import repair
from tradewire.engine.journal.store import MAGIC, Journal, read_journal
from tradewire.errors import JournalCorrupt, TradewireError

INTENT = {"symbol": "A", "side": "buy", "qty": 10, "type": "limit", "limit": 10.0, "strategy": "s"}
HEAD = struct.Struct("<II")


def write_journal(path: Path, n: int = 200) -> Path:
    j = Journal(path)
    for i in range(n):
        j.append("intent", f"c{i}", INTENT, ts_ns=1_700_000_000_000_000_000 + i)
    j.close()
    return path


def record_offsets(data: bytes) -> list[int]:
    """Where each record starts, walked independently of the code under test."""
    offsets, off = [], len(MAGIC)
    while off < len(data):
        offsets.append(off)
        off += HEAD.size + HEAD.unpack_from(data, off)[0]
    return offsets


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return write_journal(tmp_path / "j.twj")


def damage(path: Path, at: int, value: bytes) -> bytes:
    data = bytearray(path.read_bytes())
    data[at : at + len(value)] = value
    path.write_bytes(bytes(data))
    return bytes(data)


def assert_refused(path: Path, before: bytes, *, offset: int, problem: str) -> JournalCorrupt:
    for repair_flag in (True, False):
        with pytest.raises(JournalCorrupt) as info:
            read_journal(path, repair=repair_flag)
        assert path.read_bytes() == before, "a refused journal must be left untouched"
    exc = info.value
    assert isinstance(exc, TradewireError)
    message = str(exc)
    assert "\n" not in message
    assert str(path) in message
    assert f"byte {offset}" in message
    assert problem in message
    assert f"tradewire journal repair {path}" in message
    assert exc.offset == offset
    return exc


def test_one_flipped_bit_mid_journal_is_refused_and_nothing_is_cut(journal):
    data = journal.read_bytes()
    offsets = record_offsets(data)
    victim = offsets[100]
    flipped = bytearray(data)
    flipped[victim + HEAD.size + 5] ^= 0x04  # one bit inside record 100's payload
    journal.write_bytes(bytes(flipped))
    assert_refused(journal, bytes(flipped), offset=victim, problem="CRC mismatch")


def test_a_4gb_length_field_mid_file_is_refused_untouched(journal):
    victim = record_offsets(journal.read_bytes())[100]
    before = damage(journal, victim, b"\xff\xff\xff\xff")
    assert_refused(journal, before, offset=victim, problem="length 4294967295")


def test_a_plausible_length_running_past_the_end_mid_file_is_refused(journal):
    data = journal.read_bytes()
    victim = record_offsets(data)[100]
    too_long = len(data) - victim  # under the absurd limit, but past the end of the file
    before = damage(journal, victim, struct.pack("<I", too_long))
    assert_refused(journal, before, offset=victim, problem="past the end")


def test_a_valid_crc_over_an_undecodable_payload_is_refused(journal):
    data = journal.read_bytes()
    victim = record_offsets(data)[100]
    length = HEAD.unpack_from(data, victim)[0]
    garbage = b"\xc1" * length  # 0xc1 is never valid msgpack
    before = damage(journal, victim, HEAD.pack(length, zlib.crc32(garbage)) + garbage)
    assert_refused(journal, before, offset=victim, problem="undecodable")


def test_a_bad_file_header_is_refused(journal):
    before = damage(journal, 0, b"XXXX")
    assert_refused(journal, before, offset=0, problem="bad header")


def test_a_corrupt_but_complete_last_record_is_refused(journal):
    data = journal.read_bytes()
    last = record_offsets(data)[-1]
    before = damage(journal, len(data) - 1, bytes([data[-1] ^ 0x01]))
    assert_refused(journal, before, offset=last, problem="CRC mismatch")


def test_a_grown_length_on_a_whole_last_record_is_not_mistaken_for_a_torn_write(journal):
    data = journal.read_bytes()
    last = record_offsets(data)[-1]
    length = HEAD.unpack_from(data, last)[0]
    before = damage(journal, last, struct.pack("<I", length + 3))
    assert_refused(journal, before, offset=last, problem="length")


@pytest.mark.parametrize("cut", [1, 7, 20])
def test_a_torn_last_record_is_cut_with_one_warning_and_the_rest_kept(journal, caplog, cut):
    data = journal.read_bytes()
    last = record_offsets(data)[-1]
    journal.write_bytes(data[:-cut])
    with caplog.at_level(logging.WARNING, logger="tradewire.engine.journal.store"):
        result = read_journal(journal)
    assert [r.cid for r in result.records] == [f"c{i}" for i in range(199)]
    assert result.truncated_bytes == len(data) - cut - last
    assert journal.read_bytes() == data[:last]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert f"byte {last}" in warnings[0].getMessage()


def test_a_torn_record_header_at_the_tail_is_cut(journal):
    data = journal.read_bytes()
    journal.write_bytes(data + HEAD.pack(40, 0)[:5])  # the crash hit inside the next header
    result = read_journal(journal)
    assert len(result.records) == 200
    assert result.error == "torn record header"
    assert journal.read_bytes() == data


def test_a_torn_tail_without_repair_is_reported_but_not_cut(journal):
    data = journal.read_bytes()
    journal.write_bytes(data[:-3])
    result = read_journal(journal, repair=False)
    assert len(result.records) == 199
    assert journal.read_bytes() == data[:-3]


def test_repair_keeps_the_original_and_salvages_every_record_after_the_flip(journal):
    data = journal.read_bytes()
    victim = record_offsets(data)[100]
    flipped = bytearray(data)
    flipped[victim + HEAD.size + 5] ^= 0x04
    journal.write_bytes(bytes(flipped))
    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)

    report = repair(journal, now=now)

    assert report.original == journal.with_name("j.twj.corrupt-20250102T030405Z")
    assert report.original.read_bytes() == bytes(flipped)
    kept = [r.cid for r in read_journal(journal, repair=False).records]
    assert kept == [f"c{i}" for i in range(200) if i != 100]
    assert report.kept == 199
    assert [(d.offset, d.size) for d in report.dropped] == [
        (victim, record_offsets(data)[101] - victim)
    ]
    assert "CRC mismatch" in report.dropped[0].problem


def test_repair_never_overwrites_an_earlier_copy(journal):
    victim = record_offsets(journal.read_bytes())[50]
    damage(journal, victim, b"\xff\xff\xff\xff")
    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    earlier = journal.with_name("j.twj.corrupt-20250102T030405Z")
    earlier.write_bytes(b"an earlier copy")

    report = repair(journal, now=now)

    assert earlier.read_bytes() == b"an earlier copy"
    assert report.original is not None
    assert report.original != earlier
    assert report.original.name.startswith("j.twj.corrupt-20250102T030405Z")
    assert len(read_journal(journal).records) == 199


def test_repair_of_an_intact_journal_changes_nothing(journal):
    before = journal.read_bytes()
    report = repair(journal)
    assert report.original is None
    assert report.dropped == []
    assert journal.read_bytes() == before
    assert list(journal.parent.iterdir()) == [journal]


def test_appending_after_repair_continues_the_journal(journal):
    victim = record_offsets(journal.read_bytes())[10]
    damage(journal, victim + HEAD.size + 2, b"\x00\x00")
    repair(journal)
    Journal(journal).append("intent", "c999", INTENT)
    assert [r.cid for r in read_journal(journal).records][-1] == "c999"


def test_repair_salvages_a_journal_whose_header_was_damaged(journal):
    before = damage(journal, 1, b"X")
    assert_refused(journal, before, offset=0, problem="bad header")
    report = repair(journal)
    assert report.kept == 200
    assert [(d.offset, d.problem) for d in report.dropped] == [(0, "bad header")]
    assert len(read_journal(journal).records) == 200
