"""Append-only, crash-safe order journal: its writer.

Format: an 8-byte file header, then records of ``<u32 length><u32 crc32><msgpack payload>``.
``append`` is one ``os.write`` to an ``O_APPEND`` descriptor: once it returns, the record is
in the kernel's page cache and survives a crash of this process (SIGKILL included). Surviving
a machine crash needs ``fdatasync``, which :meth:`Journal.sync` does *after* the order was
written, off the hot path. The native order path (issue 26) writes the same bytes with one
``write(2)`` to :attr:`Journal.fd` and tells the journal (:meth:`Journal.noted`).

Reading, and what damage is cut or refused, is :mod:`tradewire.engine.journal.reading`'s
(its names are re-exported here).

Every order gets an ``intent`` record before its bytes leave. What a record means, and the
replay that rebuilds every order from them, are :mod:`tradewire.engine.journal.codec`'s and
:mod:`tradewire.engine.journal.replay`'s.
"""

from __future__ import annotations

import logging
import os
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from tradewire.engine.journal.reading import (
    HEAD,
    MAGIC,
    MAX_RECORD_BYTES,
    Damage,
    ReadResult,
    Scan,
    frame_problem,
    read_journal,
    salvage,
    scan,
)
from tradewire.engine.journal.record import Record
from tradewire.errors import JournalFrameRejected

__all__ = [
    "MAGIC",
    "MAX_RECORD_BYTES",
    "Damage",
    "Journal",
    "ReadResult",
    "Scan",
    "read_journal",
    "salvage",
    "scan",
]

log = logging.getLogger(__name__)

_encode = msgspec.msgpack.Encoder().encode


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
        frame = HEAD.pack(len(payload), zlib.crc32(payload)) + payload
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
        problem = frame_problem(frame)
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
        return HEAD.pack(len(payload), zlib.crc32(payload)) + payload

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
                chunks.append(HEAD.pack(len(payload), zlib.crc32(payload)) + payload)
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
