"""The ``.twr`` segment format and its reader: round trips, torn tails, and damage that must
raise instead of silently leaving a hole in a backtest's feed."""

from __future__ import annotations

import logging
import random
import zlib
from pathlib import Path

import pytest

from tradewire.record import ReadReport, RecordingCorrupt, iter_frames
from tradewire.record.format import (
    BLOCK_HEADER_SIZE,
    FILE_HEADER,
    FILE_HEADER_SIZE,
    SegmentDecoder,
    decode_payload,
    encode_block,
)

pytestmark = pytest.mark.timeout(60)

Record = tuple[int, bytes]


def frames(n: int, start: int = 0) -> list[Record]:
    return [
        (1_700_000_000_000_000_000 + i * 1000, b'[{"ev":"Q","sym":"AAPL","q":%d}]' % i)
        for i in range(start, start + n)
    ]


def segment(*blocks: list[Record]) -> tuple[bytes, list[int]]:
    """A segment holding ``blocks``; returns it and each block's offset."""
    data = bytearray(FILE_HEADER)
    offsets = []
    for block in blocks:
        offsets.append(len(data))
        data += encode_block([ns for ns, _ in block], [f for _, f in block])
    return bytes(data), offsets


def read(data: bytes, tmp_path: Path) -> tuple[list[Record], ReadReport]:
    path = tmp_path / "feed-000001.twr"
    path.write_bytes(data)
    report = ReadReport()
    return list(iter_frames(path, report=report)), report


def test_block_round_trip_keeps_bytes_and_times_exactly():
    # Arbitrary bytes too: the recorder stores the payload as received, JSON or not.
    records = [(5, b""), (6, b"\x00\xff binary"), (7, "é€".encode()), (2**62, b"x" * 100_000)]
    block = encode_block([r[0] for r in records], [r[1] for r in records])
    assert decode_payload(block[BLOCK_HEADER_SIZE:]) == records


def test_segment_round_trip_through_a_file(tmp_path):
    a, b = frames(10), frames(5, start=10)
    data, _ = segment(a, b)
    got, report = read(data, tmp_path)
    assert got == a + b
    assert report.frames == 15
    assert report.torn == []


def test_decoder_fed_one_byte_at_a_time_yields_the_same_records():
    a, b = frames(3), frames(4, start=3)
    data, _ = segment(a, b)
    decoder = SegmentDecoder()
    got: list[Record] = []
    for i in range(len(data)):
        got += decoder.feed(data[i : i + 1])
    assert decoder.end() == 0
    assert got == a + b
    assert decoder.blocks == 2


def test_encode_block_refuses_an_empty_batch():
    with pytest.raises(ValueError, match="1\\+ frames"):
        encode_block([], [])


def test_torn_tail_at_every_byte_offset_of_the_last_block_keeps_every_complete_block(tmp_path):
    blocks = [frames(7), frames(7, start=7), frames(7, start=14)]
    data, offsets = segment(*blocks)
    last = offsets[-1]
    for cut in range(last, len(data)):
        got, report = read(data[:cut], tmp_path)
        assert got == blocks[0] + blocks[1], cut
        assert report.torn_bytes == cut - last, cut
    got, report = read(data, tmp_path)
    assert got == blocks[0] + blocks[1] + blocks[2]
    assert report.torn_bytes == 0


def test_last_block_with_a_bad_crc_is_a_torn_tail_and_is_logged(tmp_path, caplog):
    blocks = [frames(5), frames(5, start=5)]
    data, offsets = segment(*blocks)
    damaged = bytearray(data)
    damaged[-3] ^= 0x10
    with caplog.at_level(logging.WARNING, logger="tradewire.record"):
        got, report = read(bytes(damaged), tmp_path)
    assert got == blocks[0]
    assert report.torn_bytes == len(data) - offsets[1]
    assert "torn tail" in caplog.text
    assert f"dropped {len(data) - offsets[1]} bytes" in caplog.text


def test_a_zero_filled_tail_is_torn_not_damage(tmp_path):
    # What some file systems leave after a power loss: the size grew, the data did not land.
    data, _ = segment(frames(5))
    got, report = read(data + bytes(100), tmp_path)
    assert got == frames(5)
    assert report.torn_bytes == 100


@pytest.mark.parametrize("cut", range(FILE_HEADER_SIZE + 1))
def test_a_segment_torn_in_its_header_or_empty_reads_as_no_frames(tmp_path, cut):
    got, report = read(FILE_HEADER[:cut], tmp_path)
    assert got == []
    assert report.torn_bytes == cut - (FILE_HEADER_SIZE if cut == FILE_HEADER_SIZE else 0)


@pytest.mark.parametrize("where", ["payload", "header-length", "header-crc", "payload-crc"])
def test_damage_in_the_middle_of_a_file_raises_naming_file_and_offset(tmp_path, where):
    data, offsets = segment(frames(5), frames(5, start=5), frames(5, start=10))
    victim = offsets[1]
    byte = {
        "payload": victim + BLOCK_HEADER_SIZE + 4,
        "header-length": victim,
        "header-crc": victim + 9,
        "payload-crc": victim + 5,
    }[where]
    damaged = bytearray(data)
    damaged[byte] ^= 0x01
    with pytest.raises(RecordingCorrupt, match=f"feed-000001.twr: .*offset {victim}"):
        read(bytes(damaged), tmp_path)


def test_a_bad_crc_block_followed_only_by_a_torn_block_still_raises(tmp_path):
    # The CRC failure is not at the end of the data: it cannot be the crash's last write.
    data, offsets = segment(frames(5), frames(5, start=5), frames(5, start=10))
    damaged = bytearray(data[: offsets[2] + 3])
    damaged[offsets[1] + BLOCK_HEADER_SIZE + 2] ^= 0x01
    with pytest.raises(RecordingCorrupt, match="CRC mismatch"):
        read(bytes(damaged), tmp_path)


def test_bytes_after_a_zero_run_are_damage(tmp_path):
    data, offsets = segment(frames(5), frames(5, start=5))
    damaged = bytearray(data)
    damaged[offsets[1] : offsets[1] + BLOCK_HEADER_SIZE] = bytes(BLOCK_HEADER_SIZE)
    with pytest.raises(RecordingCorrupt, match="bad block header"):
        read(bytes(damaged), tmp_path)


def test_a_valid_crc_over_an_inconsistent_payload_raises(tmp_path):
    # Written wrong (not torn): CRC and length fine, content not a batch.
    payload = zlib.compress(b"\x05\x00\x00\x00short")
    head = (len(payload)).to_bytes(4, "little") + zlib.crc32(payload).to_bytes(4, "little")
    block = head + zlib.crc32(head).to_bytes(4, "little") + payload
    with pytest.raises(RecordingCorrupt, match="bad record count"):
        read(FILE_HEADER + block, tmp_path)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"PK\x03\x04zipfile", "bad magic"),
        (b"TWR\x09\x01\x00\x00\x00", "version 9"),
        (b"TWR\x01\x07\x00\x00\x00", "unknown codec"),
        (b"xy", "bad magic"),
    ],
)
def test_a_file_that_is_not_a_segment_raises(tmp_path, data, match):
    with pytest.raises(RecordingCorrupt, match=match):
        read(data, tmp_path)


def test_random_single_byte_damage_never_yields_wrong_frames(tmp_path):
    # Whatever one flipped byte does, the reader raises or returns a prefix of the truth.
    data, _ = segment(frames(20), frames(20, start=20), frames(20, start=40))
    truth = frames(60)
    rng = random.Random(3)
    for _ in range(300):
        damaged = bytearray(data)
        damaged[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        try:
            got, _ = read(bytes(damaged), tmp_path)
        except RecordingCorrupt:
            continue
        assert got == truth[: len(got)]


def test_iter_frames_on_a_missing_path_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        list(iter_frames(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="not a recording"):
        list(iter_frames(tmp_path))
