"""``manifest.json``: what a recording holds, for a human or a backtest deciding what to read.

Sans-I/O like :mod:`.format`: the writer decides when the bytes go to disk. The manifest is
a summary, not the truth: after a crash it may lag the segments by up to one update
interval, so the reader iterates the segment files themselves and never needs it.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import msgspec

from tradewire.record.format import CODEC_ZLIB, CODECS, FORMAT_VERSION, RecordingCorrupt

MANIFEST_NAME = "manifest.json"
SEGMENT_PREFIX = "feed-"
SEGMENT_SUFFIX = ".twr"
EVICTED_KEPT = 100
"""Evicted segments listed by name; older ones are only counted, so a recording that runs
for weeks in a bounded folder does not grow its manifest without bound either."""
SYMBOLS_MAX = 10_000
"""Distinct symbols named per segment (a ``*`` feed has ~10k US tickers); more are counted."""


class SegmentInfo(msgspec.Struct, kw_only=True):
    """One segment on disk. ``first``/``last_recv_ns`` are wall-clock ns (``time.time_ns``)."""

    file: str
    frames: int = 0
    bytes: int = 0
    first_recv_ns: int | None = None
    last_recv_ns: int | None = None
    symbols: list[str] = []
    symbols_truncated: bool = False
    torn_bytes: int = 0


class EvictedSegment(msgspec.Struct, kw_only=True):
    """A segment deleted to stay under ``max_bytes``: the gap a replay will see."""

    file: str
    frames: int
    bytes: int
    first_recv_ns: int | None
    last_recv_ns: int | None
    evicted_at_ns: int


class Manifest(msgspec.Struct, kw_only=True):
    format: str = "tradewire-record"
    version: int = FORMAT_VERSION
    codec: str = CODECS[CODEC_ZLIB]
    feed_url: str = ""
    market: str = "stocks"
    """The Massive cluster the frames came from; a recording's crypto frames live in its
    ``crypto/`` sub-recording (issue 23). Older manifests have none: stocks."""
    symbols: list[str] = []
    rotate_bytes: int = 0
    max_bytes: int | None = None
    segments: list[SegmentInfo] = []
    evicted: list[EvictedSegment] = []
    evicted_total: int = 0
    evicted_frames: int = 0
    clock_adjusted: int = 0
    updated_ns: int = 0

    @property
    def frames(self) -> int:
        return sum(s.frames for s in self.segments)

    @property
    def bytes(self) -> int:
        return sum(s.bytes for s in self.segments)


def segment_name(number: int) -> str:
    return f"{SEGMENT_PREFIX}{number:06d}{SEGMENT_SUFFIX}"


def segment_number(name: str) -> int | None:
    """The number in ``feed-000042.twr``, or None for any other name."""
    if not (name.startswith(SEGMENT_PREFIX) and name.endswith(SEGMENT_SUFFIX)):
        return None
    digits = name[len(SEGMENT_PREFIX) : -len(SEGMENT_SUFFIX)]
    return int(digits) if digits.isdigit() else None


def public_url(url: str) -> str:
    """``url`` without user info, query or fragment: where a key could ride along in a URL."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


_decoder = msgspec.json.Decoder(Manifest)


def encode_manifest(manifest: Manifest) -> bytes:
    return msgspec.json.format(msgspec.json.encode(manifest), indent=2) + b"\n"


def decode_manifest(data: bytes) -> Manifest:
    try:
        manifest = _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise RecordingCorrupt(f"{MANIFEST_NAME}: {exc}") from None
    if manifest.version != FORMAT_VERSION:
        raise RecordingCorrupt(
            f"{MANIFEST_NAME}: format version {manifest.version}; this code writes {FORMAT_VERSION}"
        )
    return manifest
