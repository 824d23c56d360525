"""Append-only, crash-safe order journal: the file format, its writer and its reader.

Format: an 8-byte file header, then records of ``<u32 length><u32 crc32><msgpack payload>``.
``append`` is one ``os.write`` to an ``O_APPEND`` descriptor: once it returns, the record is
in the kernel's page cache and survives a crash of this process (SIGKILL included). Surviving
a machine crash needs ``fdatasync``, which :meth:`Journal.sync` does *after* the order was
written, off the hot path.

Reading cuts only what a crash can leave: a torn *final* append (its header incomplete, or
its payload shorter than a plausible length with nothing valid after it). Any other damage
(a CRC mismatch with data after it, an absurd length, a valid CRC over bytes that do not
decode, a bad file header) raises :class:`~tradewire.errors.JournalCorrupt` and leaves the
file untouched: cutting there would forget every order after the damage while the broker
still holds them. ``tradewire journal repair`` keeps the original and salvages around it.

Every order gets an ``intent`` record before its bytes leave. What a record means, and the
replay that rebuilds every order from them, are :mod:`tradewire.engine.journal.codec`'s and
:mod:`tradewire.engine.journal.replay`'s.
"""

from __future__ import annotations

import logging
import os
import struct
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from tradewire.engine.journal.record import Record
from tradewire.errors import JournalCorrupt, JournalFrameRejected

log = logging.getLogger(__name__)

MAGIC = b"TWJ1\x00\x00\x00\x00"
_HEAD = struct.Struct("<II")
# No record comes near this (an order is a few hundred bytes); a length beyond it is damage,
# never a write the crash interrupted, and reading it would swallow the rest of the file.
MAX_RECORD_BYTES = 64 * 1024 * 1024


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(Record).decode


class Journal:
    """The open journal file of this process (one writer).

    ``on_frame``, when set, is called with the exact bytes of each record after it was
    written (and synced, with ``fsync="always"``): a replication hook (live/ha/replication.py)
    that must return at once. It is one attribute check when unset. An exception from it is
    logged and swallowed: the record is already in the file.
    """

    on_frame: Callable[[bytes], None] | None = None
    fd: int
    """The file's descriptor (``O_APPEND``); :meth:`rotate` replaces it."""

    def __init__(
        self, path: Path, *, fsync: str = "batch", clock: Callable[[], int] = time.time_ns
    ) -> None:
        self.path = path
        self.fsync = fsync
        # Record times; a backtest passes its simulated clock so reruns write the same bytes.
        self.clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if os.fstat(self.fd).st_size == 0:
            os.write(self.fd, MAGIC)
        self.records_written = 0
        self.dirty = False
        self.on_frame = None

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r}, records={self.records_written})"

    def append(
        self, kind: str, cid: str, data: dict[str, Any] | None = None, *, ts_ns: int = 0
    ) -> None:
        """Write one record with a single ``os.write`` (a few µs). Raises OSError on failure."""
        payload = _encode(Record(kind, cid, ts_ns or self.clock(), data))
        frame = _HEAD.pack(len(payload), zlib.crc32(payload)) + payload
        os.write(self.fd, frame)
        self.records_written += 1
        self.dirty = True
        if self.fsync == "always":
            self.sync()
        hook = self.on_frame
        if hook is not None:
            try:
                hook(frame)
            except Exception:
                log.exception("journal %s: on_frame hook raised; the record is written", self.path)

    def noted(self, frame: Callable[[], bytes] | None) -> None:
        """One record the native order path wrote to :attr:`fd` (and synced, with
        ``fsync="always"``) itself: counted as :meth:`append` counts it; ``frame`` gives its
        bytes for ``on_frame`` (called only when a hook is set)."""
        self.records_written += 1
        self.dirty = True
        if frame is not None and self.on_frame is not None:
            self._hand_over(frame())

    def _hand_over(self, frame: bytes) -> None:
        hook = self.on_frame
        if hook is None:
            return
        try:
            hook(frame)
        except Exception:
            log.exception("journal %s: on_frame hook raised; the record is written", self.path)

    def append_frame(self, frame: bytes) -> None:
        """Append one record's frame, as another journal's :meth:`append` wrote it, verbatim
        (a mirror's copy: live/ha/replication.py). ``on_frame`` sees it as for :meth:`append`.

        Raises:
            JournalFrameRejected: the frame is not exactly one intact record (its header,
                length, CRC or decoding); nothing was written.
            OSError: the write failed.
        """
        problem = _frame_problem(frame)
        if problem:
            raise JournalFrameRejected(str(self.path), self.size, problem)
        os.write(self.fd, frame)
        self.records_written += 1
        self.dirty = True
        if self.fsync == "always":
            self.sync()
        self._hand_over(frame)

    def frame(self, kind: str, cid: str, data: dict[str, Any] | None, ts_ns: int) -> bytes:
        """The bytes :meth:`append` writes for this record, written nowhere: run between
        orders to keep the encoder's code and data in cache (live/warm.py)."""
        payload = _encode(Record(kind, cid, ts_ns, data))
        return _HEAD.pack(len(payload), zlib.crc32(payload)) + payload

    def rotate(self, head: Sequence[tuple[str, str, dict[str, Any] | None]]) -> Path:
        """Start a new segment that begins with ``head`` (a snapshot of open state).

        Replay then reads one bounded segment instead of the whole day (139 MB took 6.4 s
        and 983 MiB). The old segment is kept, hard-linked as ``<path>.<UTC time>``, for
        audit. The new one is written beside the old and made durable, then renamed over
        it: a crash at any point leaves a complete journal at ``path``.
        """
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        archived = self.path.with_name(f"{self.path.name}.{stamp}")
        n = 1
        while archived.exists():
            archived = self.path.with_name(f"{self.path.name}.{stamp}-{n}")
            n += 1
        tmp = self.path.with_name(self.path.name + ".next")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            chunks = [MAGIC]
            now = time.time_ns()
            for kind, cid, data in head:
                payload = _encode(Record(kind, cid, now, data))
                chunks.append(_HEAD.pack(len(payload), zlib.crc32(payload)) + payload)
            os.write(fd, b"".join(chunks))
            os.fsync(fd)
        finally:
            os.close(fd)
        self.sync()
        os.link(self.path, archived)
        os.replace(tmp, self.path)
        os.close(self.fd)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        return archived

    @property
    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def sync(self) -> None:
        """Make everything appended so far durable against power loss."""
        if self.dirty and self.fsync != "never":
            os.fdatasync(self.fd)
        self.dirty = False

    def close(self) -> None:
        if self.fd >= 0:
            self.sync()
            os.close(self.fd)
            self.fd = -1


@dataclass(slots=True)
class ReadResult:
    """What start-up replays; ``truncated_bytes``/``error`` describe a torn tail that was cut."""

    records: list[Record]
    truncated_bytes: int = 0
    error: str = ""


@dataclass(frozen=True, slots=True)
class Damage:
    """Bytes that hold no intact record: where they start, how many, and what is wrong."""

    offset: int
    size: int
    problem: str
    torn_tail: bool = False  # explainable as an interrupted final append: safe to cut


@dataclass(slots=True)
class Scan:
    """The intact records from the header up to the first damage (``damage`` None: all)."""

    records: list[Record]
    offsets: list[int]
    damage: Damage | None = None


def _record_at(data: bytes, offset: int) -> Record | str:
    """The record that starts at ``offset``, or what is wrong with the bytes there."""
    if len(data) - offset < _HEAD.size:
        return "torn record header"
    length, crc = _HEAD.unpack_from(data, offset)
    if length > MAX_RECORD_BYTES:
        return f"record length {length} is absurd (limit {MAX_RECORD_BYTES})"
    start = offset + _HEAD.size
    if start + length > len(data):
        return "torn record payload"
    payload = data[start : start + length]
    if zlib.crc32(payload) != crc:
        return "CRC mismatch"
    try:
        return _decode(payload)
    except msgspec.DecodeError as exc:
        return f"undecodable record with a valid CRC: {exc}"


def _frame_problem(frame: bytes) -> str:
    """What is wrong with ``frame`` as exactly one record ("" when nothing)."""
    if len(frame) < _HEAD.size:
        return f"{len(frame)} bytes are shorter than a record header"
    length: int = _HEAD.unpack_from(frame, 0)[0]
    if length != len(frame) - _HEAD.size:
        return f"record length {length} does not match the {len(frame) - _HEAD.size}-byte payload"
    found = _record_at(frame, 0)
    return found if isinstance(found, str) else ""


def _end(data: bytes, offset: int) -> int:
    """Where the record whose header is at ``offset`` ends."""
    length: int = _HEAD.unpack_from(data, offset)[0]
    return offset + _HEAD.size + length


def _next_intact(data: bytes, offset: int) -> int | None:
    """The first position at or after ``offset`` where a whole, CRC-valid record decodes.

    Most positions fail on the length alone (bytes of a payload read as a little-endian u32
    are far beyond what is left), so the scan is cheap; a false match needs a 32-bit CRC hit.
    """
    for pos in range(offset, len(data) - _HEAD.size + 1):
        length = int.from_bytes(data[pos : pos + 4], "little")
        if 0 < length <= len(data) - pos - _HEAD.size and isinstance(_record_at(data, pos), Record):
            return pos
    return None


def _damage(data: bytes, offset: int, problem: str) -> Damage:
    """Classify bad bytes at ``offset``: a torn final append, or damage that must be refused."""
    if problem == "torn record header":  # under 8 bytes left: no record can follow
        return Damage(offset, len(data) - offset, problem, torn_tail=True)
    following = _next_intact(data, offset + 1)
    size = (following if following is not None else len(data)) - offset
    if problem != "torn record payload":
        return Damage(offset, size, problem)
    length, crc = _HEAD.unpack_from(data, offset)
    past_end = f"record length {length} runs past the end of the file"
    if following is not None:
        return Damage(offset, size, f"{past_end} but an intact record follows at byte {following}")
    if zlib.crc32(data[offset + _HEAD.size :]) == crc:
        # The whole payload is there and matches: the length field is wrong, nothing was torn.
        return Damage(offset, size, f"{past_end} although its whole payload is present")
    return Damage(offset, size, problem, torn_tail=True)


def _walk(data: bytes, offset: int) -> Scan:
    result = Scan([], [])
    while offset < len(data):
        found = _record_at(data, offset)
        if isinstance(found, str):
            result.damage = _damage(data, offset, found)
            break
        result.records.append(found)
        result.offsets.append(offset)
        offset = _end(data, offset)
    return result


def scan(data: bytes) -> Scan:
    """Walk a journal's bytes (header included) up to the first damage; never writes."""
    if not data.startswith(MAGIC):
        return Scan([], [], Damage(0, len(data), "bad header: not a tradewire journal"))
    return _walk(data, len(MAGIC))


def salvage(data: bytes) -> tuple[list[bytes], list[Damage]]:
    """Every intact record's bytes, verbatim, resynchronising after each damaged region; and
    those regions.

    For ``tradewire journal repair`` only: a record found past damage is trusted because its
    header, CRC and decoding all agree, which a random byte run does with odds of ~2**-32.
    """
    kept: list[bytes] = []
    dropped: list[Damage] = []
    offset = len(MAGIC)
    if not data.startswith(MAGIC):
        # A damaged header (most of MAGIC still there) is salvaged around; anything else is
        # some other file, and scanning all of it for records would be slow and pointless.
        near_magic = sum(a == b for a, b in zip(data, MAGIC, strict=False)) >= len(MAGIC) // 2
        first = _next_intact(data, 0) if near_magic else None
        if first is None:
            return [], [Damage(0, len(data), "bad header: not a tradewire journal")]
        dropped.append(Damage(0, first, "bad header"))
        offset = first
    while offset < len(data):
        part = _walk(data, offset)
        kept += [data[start : _end(data, start)] for start in part.offsets]
        if part.damage is None:
            break
        dropped.append(part.damage)
        offset = part.damage.offset + part.damage.size
    return kept, dropped


def read_journal(path: Path, *, repair: bool = True) -> ReadResult:
    """Read every record; cut only a torn final append (on disk when ``repair``).

    Raises JournalCorrupt, touching nothing, for any other damage: the engine must not trade
    on a journal that has silently lost orders.
    """
    if not path.exists():
        return ReadResult([])
    data = path.read_bytes()
    if not data:
        return ReadResult([])
    result = scan(data)
    bad = result.damage
    if bad is None:
        return ReadResult(result.records)
    if not bad.torn_tail:
        raise JournalCorrupt(str(path), bad.offset, bad.problem)
    log.warning(
        "journal %s: %s at byte %d (an interrupted final append); dropping %d trailing bytes",
        path,
        bad.problem,
        bad.offset,
        bad.size,
    )
    if repair:
        with open(path, "r+b") as fh:
            fh.truncate(bad.offset)
    return ReadResult(result.records, bad.size, bad.problem)
