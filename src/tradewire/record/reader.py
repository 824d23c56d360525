"""Read a recording back: every frame with its receive time, in the order it was written.

Segment files are the truth, not the manifest (which may lag a crash by a second), so a
folder is read as its ``feed-NNNNNN.twr`` files in number order. A torn tail (what a crash
mid-write leaves) ends that segment's frames and is logged and reported with the bytes it
dropped; each segment can have one, since a recorder restarted after a crash begins a new
segment. Damage anywhere else raises :class:`~tradewire.record.format.RecordingCorrupt`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tradewire.record.format import Record, RecordingCorrupt, SegmentDecoder
from tradewire.record.manifest import MANIFEST_NAME, SegmentInfo, decode_manifest, segment_number

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
CRYPTO_MARKET = "crypto"
OPTIONS_MARKET = "options"
"""The market a crypto sub-recording's manifest names, and the sub-folder it lives in: the
recorder writes the crypto cluster's frames to ``<recording>/crypto/`` (issue 23)."""


@dataclass(slots=True)
class ReadReport:
    """What a read found besides the frames: filled in as :func:`iter_frames` goes."""

    segments: int = 0
    frames: int = 0
    torn: list[tuple[Path, int]] = field(default_factory=list)  # (segment, bytes dropped)

    @property
    def torn_bytes(self) -> int:
        return sum(n for _, n in self.torn)


def segment_files(directory: Path) -> list[Path]:
    """The folder's segments in recording order (by number, not by name or mtime)."""
    found = []
    for entry in os.scandir(directory):
        number = segment_number(entry.name)
        if number is not None and entry.is_file():
            found.append((number, Path(entry.path)))
    return [path for _, path in sorted(found)]


def iter_frames(
    path: Path | str, *, report: ReadReport | None = None
) -> Iterator[tuple[int, bytes]]:
    """``(recv_ns, frame)`` of a recording folder or of one segment file, in order.

    Raises:
        RecordingCorrupt: damage a crash cannot explain (the message names file and offset).
        FileNotFoundError: ``path`` is neither a segment nor a recording folder.
    """
    path = Path(path)
    if report is None:
        report = ReadReport()
    if path.is_dir():
        files = segment_files(path)
        if not files and not (path / MANIFEST_NAME).exists():
            raise FileNotFoundError(f"{path}: not a recording (no {MANIFEST_NAME}, no segments)")
    elif path.is_file():
        files = [path]
    else:
        raise FileNotFoundError(f"{path}: no such recording")
    for file in files:
        yield from _iter_segment(file, report)


def _iter_segment(path: Path, report: ReadReport) -> Iterator[Record]:
    decoder = SegmentDecoder()
    report.segments += 1
    try:
        with path.open("rb") as f:
            while chunk := f.read(CHUNK_BYTES):
                records = decoder.feed(chunk)
                report.frames += len(records)
                yield from records
    except RecordingCorrupt as exc:
        raise RecordingCorrupt(f"{path}: {exc}") from None
    at = decoder.offset
    dropped = decoder.end()
    if dropped:
        report.torn.append((path, dropped))
        log.warning(
            "%s: torn tail (a crash mid-write): dropped %d bytes after offset %d",
            path,
            dropped,
            at,
        )


def scan_segment(path: Path) -> SegmentInfo:
    """Summary of a segment the manifest does not know (the recorder crashed before saying)."""
    info = SegmentInfo(file=path.name, bytes=path.stat().st_size)
    report = ReadReport()
    for ns, _ in _iter_segment(path, report):
        if info.first_recv_ns is None:
            info.first_recv_ns = ns
        info.last_recv_ns = ns
    info.frames = report.frames
    info.torn_bytes = report.torn_bytes
    return info


def recording_market(path: Path) -> str:
    """The market a recording (folder, or a segment in one) holds: its manifest's ``market``;
    ``stocks`` for recordings written before crypto was recorded."""
    folder = path if path.is_dir() else path.parent
    manifest = folder / MANIFEST_NAME
    if not manifest.exists():
        return "stocks"
    try:
        return decode_manifest(manifest.read_bytes()).market
    except RecordingCorrupt:
        return "stocks"


def crypto_part(recording: Path) -> Path | None:
    """The crypto sub-recording of a recording folder, None when it has none."""
    return market_part(recording, CRYPTO_MARKET)


def market_part(recording: Path, market: str) -> Path | None:
    """The sub-recording of ``market`` (``crypto``, ``options``: the recorder writes each
    cluster but the stocks to ``<recording>/<market>/``), None when it has none."""
    part = recording / market
    if recording.is_dir() and part.is_dir() and recording_market(part) == market:
        return part
    return None
