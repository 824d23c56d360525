"""The ``.twr`` segment format: bytes in, bytes out, no files, no sockets.

A segment is an 8-byte header, ``b"TWR" + version + codec + 3 reserved``, then blocks::

    <u32 payload_len> <u32 payload_crc32> <u32 header_crc32>  payload (compressed)

``header_crc32`` covers the first 8 bytes, so a damaged length is caught before it is used:
without it a flipped bit in a length in the middle of a file would look like a file torn at
its end, and the reader would silently drop everything after it. The payload, once
decompressed, is a batch of records in columns (timestamps compress better side by side)::

    <u32 n> <n x i64 recv_ns> <n x u32 frame_len> frame bytes, concatenated

A crash can only leave a *torn tail*: the last block incomplete, its payload CRC bad with
nothing after it, or (a file system that zero-fills after a power loss) zeros where the next
header should be. :class:`SegmentDecoder` reports those as bytes dropped; every other damage
raises :class:`RecordingCorrupt`, because skipping a block in the middle would hand a
backtest a feed with a silent hole in it.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from tradewire.errors import TradewireError

FORMAT_VERSION = 1
CODEC_ZLIB = 1
CODECS = {CODEC_ZLIB: "zlib"}
MAGIC = b"TWR"
FILE_HEADER = MAGIC + bytes([FORMAT_VERSION, CODEC_ZLIB, 0, 0, 0])
FILE_HEADER_SIZE = len(FILE_HEADER)
BLOCK_HEADER = struct.Struct("<III")
BLOCK_HEADER_SIZE = BLOCK_HEADER.size
_LEN_CRC = struct.Struct("<II")
_COUNT = struct.Struct("<I")
# The writer's blocks are a few hundred KB; a trusted (header-CRC-checked) length beyond this
# is a file written by something else, and decompressing it could exhaust memory.
MAX_BLOCK_BYTES = 256 * 1024 * 1024
MAX_FRAME_BYTES = 0xFFFF_FFFF

Record = tuple[int, bytes]


class RecordingCorrupt(TradewireError):
    """A recording is damaged where a crash cannot explain it; the message names the offset."""


def encode_block(recv_ns: Sequence[int], frames: Sequence[bytes], *, level: int = 1) -> bytes:
    """One self-delimiting block holding ``frames`` and their receive times, in order.

    Level 1 because the writer runs on the recorder's event loop: a block must compress in
    well under a flush interval, and higher levels buy little on JSON feeds (see cli docs).
    """
    n = len(frames)
    if n == 0 or n != len(recv_ns):
        raise ValueError(f"a block needs 1+ frames and one recv_ns each (got {n}, {len(recv_ns)})")
    lengths = [len(f) for f in frames]
    if max(lengths) > MAX_FRAME_BYTES:
        raise ValueError("a frame longer than 4 GiB cannot be recorded")
    raw = b"".join(
        (
            _COUNT.pack(n),
            struct.pack(f"<{n}q", *recv_ns),
            struct.pack(f"<{n}I", *lengths),
            *frames,
        )
    )
    payload = zlib.compress(raw, level)
    if len(payload) > MAX_BLOCK_BYTES:
        raise ValueError(f"block of {len(payload)} bytes exceeds {MAX_BLOCK_BYTES}")
    head = _LEN_CRC.pack(len(payload), zlib.crc32(payload))
    return head + _COUNT.pack(zlib.crc32(head)) + payload


def decode_payload(payload: bytes, *, offset: int = 0) -> list[Record]:
    """The records of one block's (CRC-checked) compressed payload.

    A payload whose CRC matched but whose content is inconsistent was written wrong, not torn:
    that is :class:`RecordingCorrupt`, never a partial result.
    """
    try:
        raw = zlib.decompress(payload)
    except zlib.error as exc:
        raise RecordingCorrupt(f"block at offset {offset}: cannot decompress: {exc}") from None
    if len(raw) < _COUNT.size:
        raise RecordingCorrupt(f"block at offset {offset}: payload too short")
    (n,) = _COUNT.unpack_from(raw)
    body = _COUNT.size + 12 * n
    if n == 0 or body > len(raw):
        raise RecordingCorrupt(f"block at offset {offset}: bad record count {n}")
    stamps = struct.unpack_from(f"<{n}q", raw, _COUNT.size)
    lengths = struct.unpack_from(f"<{n}I", raw, _COUNT.size + 8 * n)
    if body + sum(lengths) != len(raw):
        raise RecordingCorrupt(f"block at offset {offset}: frame lengths do not add up")
    out: list[Record] = []
    pos = body
    for ns, length in zip(stamps, lengths, strict=True):
        out.append((ns, raw[pos : pos + length]))
        pos += length
    return out


def check_file_header(head: bytes) -> None:
    """Refuse anything that is not a segment of a version this code reads."""
    if head[:3] != MAGIC:
        raise RecordingCorrupt("not a tradewire recording segment (bad magic)")
    if head[3] != FORMAT_VERSION:
        raise RecordingCorrupt(
            f"segment format version {head[3]}; this reader knows {FORMAT_VERSION}"
        )
    if head[4] not in CODECS:
        raise RecordingCorrupt(f"unknown codec {head[4]} in segment header")


@dataclass(slots=True)
class _Pending:
    """A tail that is torn if the data ends here and damage if more arrives."""

    offset: int
    why: str


class SegmentDecoder:
    """Incremental reader of one segment: :meth:`feed` chunks, then :meth:`end` once.

    Incremental so a reader streams segments of any size in bounded memory. Whether a bad
    block is a torn tail or damage depends on whether anything follows it, which only the
    next chunk (or :meth:`end`) can tell, so such a block is held as *pending* until then.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._base = 0  # file offset of _buf[0]
        self._header_ok = False
        self._pending: _Pending | None = None
        self.blocks = 0
        self.frames = 0

    @property
    def offset(self) -> int:
        """File offset up to which every byte was consumed as valid."""
        return self._base

    def feed(self, data: bytes) -> list[Record]:
        """Records of every block completed by ``data``; raises on mid-file damage."""
        if not data:
            return []
        pending = self._pending
        if pending is not None and not (pending.why == "zeros" and not data.strip(b"\0")):
            if pending.why == "zeros":
                raise RecordingCorrupt(f"bad block header at offset {pending.offset}")
            raise RecordingCorrupt(f"{pending.why} at offset {pending.offset}, with data after it")
        self._buf += data
        if pending is not None:
            return []
        out: list[Record] = []
        buf = self._buf
        pos = 0
        if not self._header_ok:
            if len(buf) < FILE_HEADER_SIZE:
                if buf[: len(MAGIC)] != MAGIC[: len(buf)]:
                    raise RecordingCorrupt("not a tradewire recording segment (bad magic)")
                return out
            check_file_header(bytes(buf[:FILE_HEADER_SIZE]))
            self._header_ok = True
            pos = FILE_HEADER_SIZE
        while len(buf) - pos >= BLOCK_HEADER_SIZE:
            length, crc, head_crc = BLOCK_HEADER.unpack_from(buf, pos)
            if zlib.crc32(buf[pos : pos + 8]) != head_crc:
                if buf[pos:].strip(b"\0"):
                    raise RecordingCorrupt(f"bad block header at offset {self._base + pos}")
                self._pending = _Pending(self._base + pos, "zeros")
                break
            if length == 0 or length > MAX_BLOCK_BYTES:
                raise RecordingCorrupt(f"block at offset {self._base + pos}: bad length {length}")
            end = pos + BLOCK_HEADER_SIZE + length
            if end > len(buf):
                break
            payload = bytes(buf[pos + BLOCK_HEADER_SIZE : end])
            if zlib.crc32(payload) != crc:
                if end < len(buf):
                    raise RecordingCorrupt(
                        f"block at offset {self._base + pos}: CRC mismatch, with data after it"
                    )
                self._pending = _Pending(self._base + pos, "block CRC mismatch")
                break
            records = decode_payload(payload, offset=self._base + pos)
            out.extend(records)
            self.blocks += 1
            self.frames += len(records)
            pos = end
        del buf[:pos]
        self._base += pos
        return out

    def end(self) -> int:
        """The data ended: how many bytes of a torn tail were dropped (0 when clean)."""
        dropped = len(self._buf)
        self._buf.clear()
        self._base += dropped
        return dropped
