"""Write a recording folder: buffered blocks, segment rotation, bounded disk, the manifest.

Frames are buffered and written as one block every ``flush_frames`` frames or ``flush_ms``,
whichever comes first, so a crash of the recorder loses at most that much. Each block is one
``os.write`` on an ``O_APPEND`` descriptor: once it returns the block survives a crash of
this process; segments are fsynced when they are closed. Everything here is synchronous and
called from the recorder's event loop, which is why compression stays at a fast level.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tradewire.record.format import FILE_HEADER, encode_block
from tradewire.record.manifest import (
    EVICTED_KEPT,
    MANIFEST_NAME,
    SYMBOLS_MAX,
    EvictedSegment,
    Manifest,
    SegmentInfo,
    decode_manifest,
    encode_manifest,
    public_url,
    segment_name,
    segment_number,
)
from tradewire.record.reader import scan_segment, segment_files

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WriterOptions:
    rotate_bytes: int = 64 * 1024 * 1024
    max_bytes: int | None = None  # None: unbounded
    flush_frames: int = 1000
    flush_ms: float = 100.0
    level: int = 1
    manifest_interval_s: float = 1.0

    def __post_init__(self) -> None:
        if self.rotate_bytes <= 0 or self.flush_frames <= 0 or self.flush_ms <= 0:
            raise ValueError("rotate_bytes, flush_frames and flush_ms must be above 0")
        if self.max_bytes is not None and self.max_bytes < self.rotate_bytes:
            # Eviction never deletes the open segment, so the bound could not be kept.
            raise ValueError("max_bytes must be at least rotate_bytes")


class RecordingWriter:
    """The one writer of a recording folder. A folder that already holds a recording is
    continued in a new segment (the old ones are kept, a crashed run's last one included).

    Raises ``OSError`` when the folder cannot be created or written (checked at once, by
    writing the manifest, so a bad ``--out`` fails before connecting to any feed).
    """

    def __init__(
        self,
        directory: Path,
        *,
        feed_url: str,
        symbols: Sequence[str],
        market: str = "stocks",
        options: WriterOptions | None = None,
        clock: Callable[[], int] = time.monotonic_ns,
        wall_clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.directory = directory
        self.options = opts = options or WriterOptions()
        self._clock = clock
        self._wall = wall_clock
        directory.mkdir(parents=True, exist_ok=True)
        self.manifest = self._load(feed_url, list(symbols))
        self.manifest.market = market
        numbers = [segment_number(s.file) or 0 for s in self.manifest.segments]
        numbers += [segment_number(e.file) or 0 for e in self.manifest.evicted]
        self._next_number = max(numbers, default=0) + 1
        last = self.manifest.segments[-1].last_recv_ns if self.manifest.segments else None
        self._last_ns = last if last is not None else -1
        self._fd: int | None = None
        self._current: SegmentInfo | None = None
        self._symbols: set[str] = set()
        self._stamps: list[int] = []
        self._frames: list[bytes] = []
        self._first_buffered = 0
        self._flush_ns = int(opts.flush_ms * 1_000_000)
        self._manifest_due = 0
        self.frames = 0  # written to disk by this writer
        self.blocks = 0
        self.closed = False
        self.write_manifest(durable=True)

    def __repr__(self) -> str:
        return f"RecordingWriter({str(self.directory)!r}, frames={self.frames})"

    # -- the hot side ------------------------------------------------------------------------

    def append(self, recv_ns: int, frame: bytes, symbols: Iterable[str] = ()) -> None:
        """Buffer one frame; writes a block when ``flush_frames`` or ``flush_ms`` is reached.

        ``recv_ns`` is kept strictly increasing: a wall clock stepped back (NTP) would
        otherwise reorder a replay that merges by time. Each adjustment is counted.
        """
        if recv_ns <= self._last_ns:
            recv_ns = self._last_ns + 1
            self.manifest.clock_adjusted += 1
        self._last_ns = recv_ns
        if not self._frames:
            self._first_buffered = self._clock()
        self._stamps.append(recv_ns)
        self._frames.append(frame)
        seen = self._symbols
        for symbol in symbols:
            if symbol not in seen:
                if len(seen) < SYMBOLS_MAX:
                    seen.add(symbol)
                elif self._current is not None:
                    self._current.symbols_truncated = True
        if (
            len(self._frames) >= self.options.flush_frames
            or self._clock() - self._first_buffered >= self._flush_ns
        ):
            self.flush()

    def flush_if_due(self) -> None:
        """For a timer: write a block of frames older than ``flush_ms``, refresh the manifest.

        Needed because :meth:`append` only looks at the clock when a frame arrives, and a
        quiet feed would otherwise keep its last frames in memory indefinitely.
        """
        if self._frames and self._clock() - self._first_buffered >= self._flush_ns:
            self.flush()
        if self._clock() >= self._manifest_due:
            self.write_manifest()

    def flush(self) -> None:
        """Write the buffered frames as one block (then rotate and evict as needed)."""
        if not self._frames:
            return
        stamps, frames = self._stamps, self._frames
        self._stamps, self._frames = [], []
        block = encode_block(stamps, frames, level=self.options.level)
        fd, cur = self._segment()
        _write_all(fd, block)
        cur.bytes += len(block)
        cur.frames += len(frames)
        if cur.first_recv_ns is None:
            cur.first_recv_ns = stamps[0]
        cur.last_recv_ns = stamps[-1]
        self.frames += len(frames)
        self.blocks += 1
        if cur.bytes >= self.options.rotate_bytes:
            self._close_segment()
            self._evict()
            self.write_manifest(durable=True)
        elif self._evict():
            self.write_manifest(durable=True)

    def close(self) -> None:
        """Flush, close the segment (fsynced) and write the final manifest."""
        if self.closed:
            return
        self.flush()
        self._close_segment()
        self.write_manifest(durable=True)
        self.closed = True

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- segments -----------------------------------------------------------------------------

    def _segment(self) -> tuple[int, SegmentInfo]:
        """The open segment, opened on first use: an empty recording has no empty segment."""
        if self._fd is None or self._current is None:
            self._open_segment()
        assert self._fd is not None
        assert self._current is not None
        return self._fd, self._current

    def _open_segment(self) -> None:
        name = segment_name(self._next_number)
        self._next_number += 1
        path = self.directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        _write_all(fd, FILE_HEADER)
        self._fd = fd
        self._current = SegmentInfo(file=name, bytes=len(FILE_HEADER))
        self._symbols = set()
        self.manifest.segments.append(self._current)
        self.write_manifest()

    def _close_segment(self) -> None:
        if self._fd is None or self._current is None:
            return
        fd, self._fd = self._fd, None
        self._current.symbols = sorted(self._symbols)
        self._current = None
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _evict(self) -> bool:
        """Delete the oldest closed segments while the folder is over ``max_bytes``."""
        limit = self.options.max_bytes
        segments = self.manifest.segments
        evicted = False
        while limit is not None and sum(s.bytes for s in segments) > limit:
            victim = segments[0]
            if victim is self._current or len(segments) < 2:
                break
            (self.directory / victim.file).unlink(missing_ok=True)
            segments.pop(0)
            m = self.manifest
            m.evicted.append(
                EvictedSegment(
                    file=victim.file,
                    frames=victim.frames,
                    bytes=victim.bytes,
                    first_recv_ns=victim.first_recv_ns,
                    last_recv_ns=victim.last_recv_ns,
                    evicted_at_ns=self._wall(),
                )
            )
            del m.evicted[:-EVICTED_KEPT]
            m.evicted_total += 1
            m.evicted_frames += victim.frames
            evicted = True
            log.info(
                "record: evicted %s (%d frames) to stay under %d bytes",
                victim.file,
                victim.frames,
                limit,
            )
        return evicted

    # -- manifest -----------------------------------------------------------------------------

    def write_manifest(self, *, durable: bool = False) -> None:
        """Replace ``manifest.json`` atomically (temp file + rename): never half written.

        ``durable`` also fsyncs, for the moments that change which files exist (open,
        rotation, eviction, close); the periodic refresh skips it to keep the loop responsive.
        """
        m = self.manifest
        if self._current is not None:
            self._current.symbols = sorted(self._symbols)
        m.updated_ns = self._wall()
        data = encode_manifest(m)
        final = self.directory / MANIFEST_NAME
        tmp = self.directory / f".{MANIFEST_NAME}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, data)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)
        self._manifest_due = self._clock() + int(self.options.manifest_interval_s * 1e9)

    def _load(self, feed_url: str, symbols: list[str]) -> Manifest:
        opts = self.options
        path = self.directory / MANIFEST_NAME
        manifest = decode_manifest(path.read_bytes()) if path.exists() else Manifest()
        manifest.feed_url = public_url(feed_url)
        manifest.symbols = symbols
        manifest.rotate_bytes = opts.rotate_bytes
        manifest.max_bytes = opts.max_bytes
        # Reconcile with the disk: a crash can leave a segment the manifest never heard of,
        # or a manifest naming a segment someone deleted since.
        known = {s.file: s for s in manifest.segments}
        kept: list[SegmentInfo] = []
        for file in segment_files(self.directory):
            info = known.get(file.name)
            kept.append(
                scan_segment(file) if info is None or info.bytes != file.stat().st_size else info
            )
        manifest.segments = kept
        return manifest


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
