"""Reading a journal file: every intact record, and what a crash may have left after them.

Format (written by :mod:`tradewire.engine.journal.store`): an 8-byte file header, then
records of ``<u32 length><u32 crc32><msgpack payload>``.

Reading cuts only what a crash can leave: a torn *final* append (its header incomplete, or
its payload shorter than a plausible length with nothing valid after it). Any other damage
(a CRC mismatch with data after it, an absurd length, a valid CRC over bytes that do not
decode, a bad file header) raises :class:`~tradewire.errors.JournalCorrupt` and leaves the
file untouched: cutting there would forget every order after the damage while the broker
still holds them. ``tradewire journal repair`` keeps the original and salvages around it.
"""

from __future__ import annotations

import logging
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import msgspec

from tradewire.engine.journal.record import Record
from tradewire.errors import JournalCorrupt

log = logging.getLogger("tradewire.engine.journal.store")

MAGIC = b"TWJ1\x00\x00\x00\x00"
HEAD = struct.Struct("<II")
# No record comes near this (an order is a few hundred bytes); a length beyond it is damage,
# never a write the crash interrupted, and reading it would swallow the rest of the file.
MAX_RECORD_BYTES = 64 * 1024 * 1024

_decode = msgspec.msgpack.Decoder(Record).decode


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
    if len(data) - offset < HEAD.size:
        return "torn record header"
    length, crc = HEAD.unpack_from(data, offset)
    if length > MAX_RECORD_BYTES:
        return f"record length {length} is absurd (limit {MAX_RECORD_BYTES})"
    start = offset + HEAD.size
    if start + length > len(data):
        return "torn record payload"
    payload = data[start : start + length]
    if zlib.crc32(payload) != crc:
        return "CRC mismatch"
    try:
        return _decode(payload)
    except msgspec.DecodeError as exc:
        return f"undecodable record with a valid CRC: {exc}"


def frame_problem(frame: bytes) -> str:
    """What is wrong with ``frame`` as exactly one record ("" when nothing)."""
    if len(frame) < HEAD.size:
        return f"{len(frame)} bytes are shorter than a record header"
    length: int = HEAD.unpack_from(frame, 0)[0]
    if length != len(frame) - HEAD.size:
        return f"record length {length} does not match the {len(frame) - HEAD.size}-byte payload"
    found = _record_at(frame, 0)
    return found if isinstance(found, str) else ""


def _end(data: bytes, offset: int) -> int:
    """Where the record whose header is at ``offset`` ends."""
    length: int = HEAD.unpack_from(data, offset)[0]
    return offset + HEAD.size + length


def _next_intact(data: bytes, offset: int) -> int | None:
    """The first position at or after ``offset`` where a whole, CRC-valid record decodes.

    Most positions fail on the length alone (bytes of a payload read as a little-endian u32
    are far beyond what is left), so the scan is cheap; a false match needs a 32-bit CRC hit.
    """
    for pos in range(offset, len(data) - HEAD.size + 1):
        length = int.from_bytes(data[pos : pos + 4], "little")
        if 0 < length <= len(data) - pos - HEAD.size and isinstance(_record_at(data, pos), Record):
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
    length, crc = HEAD.unpack_from(data, offset)
    past_end = f"record length {length} runs past the end of the file"
    if following is not None:
        return Damage(offset, size, f"{past_end} but an intact record follows at byte {following}")
    if zlib.crc32(data[offset + HEAD.size :]) == crc:
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
