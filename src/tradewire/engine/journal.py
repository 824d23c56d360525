"""Append-only, crash-safe order journal, and the replay that rebuilds state on start.

Format: an 8-byte file header, then records of ``<u32 length><u32 crc32><msgpack payload>``.
``append`` is one ``os.write`` to an ``O_APPEND`` descriptor: once it returns, the record is
in the kernel's page cache and survives a crash of this process (SIGKILL included). Surviving
a machine crash needs ``fdatasync``, which :meth:`Journal.sync` does *after* the order was
written, off the hot path. Replay stops at the first torn or corrupt record, truncates the
file there, and reports it; every record before it is intact by construction.

Every order gets an ``intent`` record before its bytes leave. On restart, orders whose last
record is intent, sent or unknown are *in doubt* and are settled with the broker by
client_order_id before trading starts (:func:`reconcile`). Nothing is ever resent blindly.
"""

from __future__ import annotations

import logging
import os
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from tradewire.engine import orders as o

log = logging.getLogger(__name__)

MAGIC = b"TWJ1\x00\x00\x00\x00"
_HEAD = struct.Struct("<II")


class Record(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One journal line. ``kind`` is intent, sent, ack, fill, cancel_req, canceled, expired,
    replaced, rejected, unknown, resolved, abandoned, denied; ``data`` depends on it."""

    kind: str
    cid: str
    ts_ns: int
    data: dict[str, Any] | None = None


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(Record).decode


class Journal:
    """The open journal file of this process (one writer)."""

    def __init__(self, path: Path, *, fsync: str = "batch") -> None:
        self.path = path
        self.fsync = fsync
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size == 0:
            os.write(self._fd, MAGIC)
        self.records_written = 0
        self.dirty = False

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r}, records={self.records_written})"

    def append(
        self, kind: str, cid: str, data: dict[str, Any] | None = None, *, ts_ns: int = 0
    ) -> None:
        """Write one record with a single ``os.write`` (a few µs). Raises OSError on failure."""
        payload = _encode(Record(kind, cid, ts_ns or time.time_ns(), data))
        os.write(self._fd, _HEAD.pack(len(payload), zlib.crc32(payload)) + payload)
        self.records_written += 1
        self.dirty = True
        if self.fsync == "always":
            self.sync()

    def sync(self) -> None:
        """Make everything appended so far durable against power loss."""
        if self.dirty and self.fsync != "never":
            os.fdatasync(self._fd)
        self.dirty = False

    def close(self) -> None:
        if self._fd >= 0:
            self.sync()
            os.close(self._fd)
            self._fd = -1


@dataclass(slots=True)
class ReadResult:
    records: list[Record]
    truncated_bytes: int = 0
    error: str = ""


def read_journal(path: Path, *, repair: bool = True) -> ReadResult:
    """Read every intact record; cut a torn or corrupt tail (and truncate it when ``repair``)."""
    if not path.exists():
        return ReadResult([])
    data = path.read_bytes()
    if not data:
        return ReadResult([])
    if not data.startswith(MAGIC):
        raise ValueError(f"{path}: not a tradewire journal (bad header)")
    records: list[Record] = []
    offset = len(MAGIC)
    error = ""
    while offset < len(data):
        if offset + _HEAD.size > len(data):
            error = "torn record header"
            break
        length, crc = _HEAD.unpack_from(data, offset)
        start = offset + _HEAD.size
        payload = data[start : start + length]
        if len(payload) < length:
            error = "torn record payload"
            break
        if zlib.crc32(payload) != crc:
            error = "CRC mismatch"
            break
        try:
            records.append(_decode(payload))
        except msgspec.DecodeError as exc:
            error = f"undecodable record: {exc}"
            break
        offset = start + length
    truncated = len(data) - offset
    if truncated:
        log.warning(
            "journal %s: %s at byte %d; dropping %d trailing bytes", path, error, offset, truncated
        )
        if repair:
            with open(path, "r+b") as fh:
                fh.truncate(offset)
    return ReadResult(records, truncated, error)


@dataclass(slots=True)
class ReplayResult:
    manager: o.OrderManager
    in_doubt: list[o.Order] = field(default_factory=list)
    records: int = 0
    truncated_bytes: int = 0
    skipped: list[str] = field(default_factory=list)


_KIND_EVENTS: dict[str, type] = {
    "sent": o.Sent, "cancel_req": o.CancelRequested, "canceled": o.Canceled, "expired": o.Expired,
    "abandoned": o.Abandoned, "done_for_day": o.DoneForDay,
}  # fmt: skip


def _event(rec: Record) -> o.OrderEvent | None:
    d = rec.data or {}
    kind = rec.kind
    if kind in _KIND_EVENTS:
        return _KIND_EVENTS[kind]()  # type: ignore[no-any-return]
    if kind in ("ack", "new"):
        return (
            o.Accepted(d.get("broker_id", "")) if kind == "ack" else o.New(d.get("broker_id", ""))
        )
    if kind in ("fill", "partial_fill"):
        cls = o.Fill if kind == "fill" else o.PartialFill
        return cls(d["exec_id"], float(d["qty"]), float(d["price"]))
    if kind == "rejected":
        return o.Rejected(str(d.get("reason", "")))
    if kind == "unknown":
        return o.Unknown(str(d.get("reason", "")))
    if kind == "replaced":
        return o.Replaced(str(d.get("replaced_by", "")))
    return None


def replay(records: Iterator[Record] | list[Record]) -> ReplayResult:
    """Rebuild every order's state from the journal through the same state machine."""
    manager = o.OrderManager()
    result = ReplayResult(manager)
    for rec in records:
        result.records += 1
        if rec.kind == "intent":
            d = rec.data or {}
            if rec.cid not in manager.orders:
                manager.create(
                    o.Order(
                        rec.cid,
                        d["symbol"],
                        d["side"],
                        float(d["qty"]),
                        d.get("type", "market"),
                        d.get("limit"),
                        strategy=d.get("strategy", ""),
                        created_ns=rec.ts_ns,
                    )
                )
            continue
        if rec.kind in ("denied", "resolved", "resent", "lookup") or rec.cid not in manager.orders:
            continue
        event = _event(rec)
        if event is None:
            result.skipped.append(rec.kind)
            continue
        try:
            manager.apply(rec.cid, event)
        except o.InvalidTransition as exc:
            result.skipped.append(str(exc))
    result.in_doubt = [
        order for order in manager.orders.values()
        if order.status in (o.OrderStatus.INTENT, o.OrderStatus.SENT, o.OrderStatus.UNKNOWN)
    ]  # fmt: skip
    return result


@dataclass(frozen=True, slots=True)
class BrokerFact:
    """What the broker says about one client_order_id (None status: it has no record)."""

    status: str | None
    broker_id: str = ""
    filled_qty: float = 0.0
    avg_price: float = 0.0


@dataclass(frozen=True, slots=True)
class Decision:
    client_order_id: str
    action: str  # "adopt" (it landed: take the broker's state) or "abandon" (it never landed)
    fact: BrokerFact


def reconcile(in_doubt: list[o.Order], facts: dict[str, BrokerFact]) -> list[Decision]:
    """Decide each in-doubt order from the broker's answer. Never resend on restart.

    An order the broker knows landed: adopt its status and fills. An order it does not know
    never landed: abandon it (the market has moved on since the crash; the strategy decides
    afresh). Either way it can no longer be sent twice.
    """
    out = []
    for order in in_doubt:
        fact = facts.get(order.client_order_id, BrokerFact(None))
        out.append(Decision(order.client_order_id, "adopt" if fact.status else "abandon", fact))
    return out
