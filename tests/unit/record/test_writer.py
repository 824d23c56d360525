"""The recording writer: flush policy, rotation, bounded disk, manifest, empty recordings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tradewire.record import FORMAT_VERSION, ReadReport, iter_frames
from tradewire.record.format import FILE_HEADER_SIZE
from tradewire.record.manifest import public_url
from tradewire.record.reader import segment_files
from tradewire.record.writer import RecordingWriter, WriterOptions

pytestmark = pytest.mark.timeout(60)

URL = "wss://user:hunter2@socket.example.com:8443/stocks?apiKey=SECRETKEY#frag"
T0 = 1_700_000_000_000_000_000


class FakeClock:
    def __init__(self) -> None:
        self.ns = 0

    def __call__(self) -> int:
        return self.ns


def frame(i: int, sym: str = "AAPL") -> bytes:
    return b'[{"ev":"T","sym":"%s","p":1.5,"s":100,"q":%d}]' % (sym.encode(), i)


def writer(
    tmp_path: Path, clock: FakeClock | None = None, **options: int | None
) -> RecordingWriter:
    return RecordingWriter(
        tmp_path / "rec",
        feed_url=URL,
        symbols=["AAPL", "MSFT"],
        options=WriterOptions(**options),  # type: ignore[arg-type]
        clock=clock or FakeClock(),
        wall_clock=lambda: T0,
    )


def manifest(tmp_path: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((tmp_path / "rec" / "manifest.json").read_text())
    return data


def test_frames_round_trip_through_a_folder_in_order(tmp_path):
    w = writer(tmp_path, flush_frames=7)
    for i in range(100):
        w.append(T0 + i, frame(i))
    w.close()
    assert list(iter_frames(tmp_path / "rec")) == [(T0 + i, frame(i)) for i in range(100)]


def test_a_block_is_written_every_k_frames_before_close(tmp_path):
    w = writer(tmp_path, flush_frames=10)
    for i in range(25):
        w.append(T0 + i, frame(i))
    # Readable while the writer is still open: what a crash now would leave.
    assert len(list(iter_frames(tmp_path / "rec"))) == 20
    assert w.blocks == 2
    w.close()
    assert len(list(iter_frames(tmp_path / "rec"))) == 25


def test_a_block_is_written_after_flush_ms_even_when_the_feed_goes_quiet(tmp_path):
    clock = FakeClock()
    w = writer(tmp_path, clock, flush_frames=1000, flush_ms=100)
    w.append(T0, frame(0))
    clock.ns += 99_000_000
    w.flush_if_due()
    assert w.blocks == 0
    clock.ns += 1_000_000
    w.flush_if_due()
    assert w.blocks == 1
    assert list(iter_frames(tmp_path / "rec")) == [(T0, frame(0))]
    # And on the next frame, when frames keep coming.
    w.append(T0 + 1, frame(1))
    clock.ns += 100_000_000
    w.append(T0 + 2, frame(2))
    assert w.blocks == 2
    w.close()


def test_segments_rotate_past_rotate_bytes(tmp_path):
    w = writer(tmp_path, flush_frames=10, rotate_bytes=2000)
    for i in range(500):
        w.append(T0 + i, frame(i))
    w.close()
    files = segment_files(tmp_path / "rec")
    assert len(files) > 3
    assert [f.name for f in files[:2]] == ["feed-000001.twr", "feed-000002.twr"]
    assert all(f.stat().st_size >= 2000 for f in files[:-1])
    assert list(iter_frames(tmp_path / "rec")) == [(T0 + i, frame(i)) for i in range(500)]
    m = manifest(tmp_path)
    assert [s["file"] for s in m["segments"]] == [f.name for f in files]  # type: ignore[attr-defined]
    assert sum(s["frames"] for s in m["segments"]) == 500  # type: ignore[attr-defined]


def test_max_bytes_evicts_the_oldest_segments_and_the_manifest_says_so(tmp_path):
    w = writer(tmp_path, flush_frames=10, rotate_bytes=2000, max_bytes=6000)
    for i in range(2000):
        w.append(T0 + i, frame(i))
    w.close()
    files = segment_files(tmp_path / "rec")
    on_disk = sum(f.stat().st_size for f in files)
    assert on_disk <= 6000
    assert files[0].name != "feed-000001.twr"
    m = manifest(tmp_path)
    evicted = m["evicted"]
    assert evicted[0]["file"] == "feed-000001.twr"  # type: ignore[index]
    assert m["evicted_total"] == len(evicted) > 0  # type: ignore[arg-type]
    kept = list(iter_frames(tmp_path / "rec"))
    # What is left is the newest frames, contiguous, and the counts add up.
    assert kept == [(T0 + i, frame(i)) for i in range(2000 - len(kept), 2000)]
    assert m["evicted_frames"] == 2000 - len(kept)
    assert evicted[-1]["last_recv_ns"] == kept[0][0] - 1  # type: ignore[index]


def test_max_bytes_below_rotate_bytes_is_refused():
    with pytest.raises(ValueError, match="max_bytes"):
        WriterOptions(rotate_bytes=1000, max_bytes=999)


def test_manifest_lists_segments_and_never_the_key(tmp_path):
    w = writer(tmp_path, flush_frames=5, rotate_bytes=1000)
    for i in range(60):
        w.append(T0 + i * 10, frame(i, "AAPL" if i % 2 else "MSFT"), ["AAPL" if i % 2 else "MSFT"])
    w.close()
    text = (tmp_path / "rec" / "manifest.json").read_text()
    m = json.loads(text)
    assert m["format"] == "tradewire-record"
    assert m["version"] == FORMAT_VERSION
    assert m["codec"] == "zlib"
    assert m["feed_url"] == "wss://socket.example.com:8443/stocks"
    assert m["symbols"] == ["AAPL", "MSFT"]
    assert m["rotate_bytes"] == 1000
    assert m["max_bytes"] is None
    segs = m["segments"]
    assert len(segs) == len(segment_files(tmp_path / "rec")) > 1
    assert segs[0]["first_recv_ns"] == T0
    assert segs[-1]["last_recv_ns"] == T0 + 590
    assert all(s["first_recv_ns"] <= s["last_recv_ns"] for s in segs)
    assert sum(s["frames"] for s in segs) == 60
    assert segs[0]["symbols"] == ["AAPL", "MSFT"]
    for sub in ("hunter2", "SECRETKEY", "user", "apiKey", "frag"):
        assert sub not in text
    assert not [p for p in (tmp_path / "rec").iterdir() if p.name.endswith(".tmp")]


def test_public_url_keeps_ipv6_hosts_and_ports():
    assert public_url("ws://[::1]:9000/stocks?k=v") == "ws://[::1]:9000/stocks"
    assert public_url("ws://127.0.0.1/stocks") == "ws://127.0.0.1/stocks"


def test_empty_recording_has_a_manifest_and_no_segments(tmp_path):
    w = writer(tmp_path)
    w.close()
    m = manifest(tmp_path)
    assert m["segments"] == []
    assert list(iter_frames(tmp_path / "rec")) == []


def test_receive_times_are_kept_strictly_increasing_when_the_clock_steps_back(tmp_path):
    w = writer(tmp_path)
    for ns in (T0 + 10, T0 + 5, T0 + 5, T0 + 20):
        w.append(ns, b"[]")
    w.close()
    assert [ns for ns, _ in iter_frames(tmp_path / "rec")] == [T0 + 10, T0 + 11, T0 + 12, T0 + 20]
    assert manifest(tmp_path)["clock_adjusted"] == 2


def test_a_restart_continues_in_a_new_segment_and_keeps_a_crashed_one(tmp_path):
    w = writer(tmp_path, flush_frames=5)
    for i in range(12):
        w.append(T0 + i, frame(i))
    w.flush()
    # Simulate a crash: a torn block at the end and a manifest that never heard of the data.
    os.write(w._fd, b"\x10\x00\x00\x00torn")  # type: ignore[arg-type]
    (tmp_path / "rec" / "manifest.json").write_text(
        (tmp_path / "rec" / "manifest.json").read_text().replace('"frames": 12', '"frames": 0')
    )
    w2 = writer(tmp_path, flush_frames=5)
    w2.append(T0 + 100, frame(100))
    w2.close()
    assert [f.name for f in segment_files(tmp_path / "rec")] == [
        "feed-000001.twr",
        "feed-000002.twr",
    ]
    report = ReadReport()
    got = list(iter_frames(tmp_path / "rec", report=report))
    assert got == [(T0 + i, frame(i)) for i in range(12)] + [(T0 + 100, frame(100))]
    assert report.torn_bytes == 8
    segs = manifest(tmp_path)["segments"]
    assert segs[0]["frames"] == 12  # type: ignore[index]
    assert segs[0]["torn_bytes"] == 8  # type: ignore[index]
    assert segs[1]["bytes"] > FILE_HEADER_SIZE  # type: ignore[index]
