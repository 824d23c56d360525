"""``tradewire journal show|export|verify|repair``: look at, check and mend an order journal.

The engine refuses a damaged journal rather than trade on one that silently lost orders, so
the operator needs a way to see the damage and get going again. Only ``repair`` writes, and
it first keeps the original as ``PATH.corrupt-<UTC time>`` (never overwriting a copy), then
swaps in a journal holding every intact record, those after the damage included. Stop the
engine first: a running engine keeps appending to the file it opened.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from tradewire.engine.journal.replay import replay
from tradewire.engine.journal.store import MAGIC, Damage, Scan, salvage, scan
from tradewire.errors import JournalMalformed


class BadInput(Exception):
    """The path is not something these commands can read; the message is one line."""


@dataclass(slots=True)
class RepairReport:
    """What ``repair`` did; ``original`` is None when the journal was intact (nothing done)."""

    kept: int
    dropped: list[Damage] = field(default_factory=list)
    original: Path | None = None


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, help_text in (
        ("show", "one line per record: time (UTC), kind, client order id, data"),
        ("export", "every record as a JSON object per line on stdout"),
        ("verify", "check every record; exit 0 if intact, 2 naming the first damage"),
        (
            "repair",
            "keep the original as PATH.corrupt-<time>, then rewrite PATH with every "
            "intact record (stop the engine first)",
        ),
    ):
        action = actions.add_parser(name, help=help_text, description=help_text)
        if name == "export":
            action.add_argument(
                "--json", action="store_true", help="JSON lines (the default and only format)"
            )
        action.add_argument("path", type=Path, metavar="PATH", help="the journal file")


def main(args: argparse.Namespace) -> int:
    command = f"tradewire journal {args.action}"
    try:
        if args.action == "repair":
            print(_describe(args.path, repair(args.path)))
            return 0
        data = _read(args.path)
        result = scan(data)
        if args.action == "verify":
            if result.damage is not None:
                print(f"{args.path}: {_where(result.damage)}")
                return 2
            try:
                # Checksums prove the bytes are the ones written; the replay proves they
                # are orders the engine can rebuild (what `run` will do at start).
                replay(result.records, source=str(args.path))
            except JournalMalformed as exc:
                print(f"{args.path}: record {exc.record} is malformed: {exc.problem}")
                return 2
            print(f"{args.path}: intact, {len(result.records)} records, {len(data)} bytes")
            return 0
        for line in _show(result) if args.action == "show" else _export(result):
            print(line)
        if result.damage is not None:
            print(f"{command}: {args.path}: {_where(result.damage)}", file=sys.stderr)
            return 2
        return 0
    except BadInput as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `tradewire journal show PATH | head`: the reader has enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        print(f"{command}: {args.path}: {exc.strerror or exc}", file=sys.stderr)
        return 2


def _read(path: Path, *, header: bool = True) -> bytes:
    """The file's bytes, or BadInput when it is missing or (``header``) has no journal header."""
    if not path.exists():
        raise BadInput(f"{path}: no such file")
    data = path.read_bytes()
    if not data:  # what the engine leaves before its first append: an empty journal
        return MAGIC
    if header and not data.startswith(MAGIC):
        raise BadInput(f"{path}: not a tradewire journal (bad header)")
    return data


def _where(damage: Damage) -> str:
    tail = " (a torn final append: the engine cuts it on start)" if damage.torn_tail else ""
    return f"{damage.problem} at byte {damage.offset} ({damage.size} bytes){tail}"


def _time(ts_ns: int) -> str:
    seconds, ns = divmod(ts_ns, 1_000_000_000)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%S}.{ns:09d}Z"


def _show(result: Scan) -> Iterator[str]:
    for rec in result.records:
        data = json.dumps(rec.data, separators=(",", ":"), default=str) if rec.data else "-"
        yield f"{_time(rec.ts_ns)}  {rec.kind:<10}  {rec.cid}  {data}"


def _export(result: Scan) -> Iterator[str]:
    for rec, offset in zip(result.records, result.offsets, strict=True):
        row: dict[str, Any] = {
            "offset": offset,
            "ts_ns": rec.ts_ns,
            "time": _time(rec.ts_ns),
            "kind": rec.kind,
            "cid": rec.cid,
            "data": rec.data,
        }
        yield msgspec.json.encode(row).decode()


def repair(path: Path, *, now: datetime | None = None) -> RepairReport:
    """Keep the original beside ``path``, then atomically replace ``path`` with its salvage.

    The copy is written and synced before the journal is replaced, so a crash mid-repair
    leaves either the untouched original or the original plus its copy, never neither.
    Intact records are copied verbatim, not re-encoded.
    """
    data = _read(path, header=False)
    kept, dropped = salvage(data)
    if not kept and not data.startswith(MAGIC):
        raise BadInput(f"{path}: not a tradewire journal (bad header, no intact record)")
    if not dropped:
        return RepairReport(len(kept))
    stamp = f"{now or datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    original = _write_new(path.with_name(f"{path.name}.corrupt-{stamp}"), data)
    fresh = _write_new(path.with_name(f"{path.name}.repair-{stamp}"), MAGIC + b"".join(kept))
    os.replace(fresh, path)
    _sync_dir(path.parent)
    return RepairReport(len(kept), dropped, original)


def _write_new(wanted: Path, data: bytes) -> Path:
    """Write ``data`` durably to ``wanted``, or ``wanted-1``, ``-2``…: never over a file."""
    for n in range(1000):
        candidate = wanted if n == 0 else wanted.with_name(f"{wanted.name}-{n}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return candidate
    raise BadInput(f"{wanted}: 1000 earlier copies exist; move some away first")


def _sync_dir(directory: Path) -> None:
    """Make the rename durable: the directory entry, not only the file, must reach disk."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _describe(path: Path, report: RepairReport) -> str:
    if report.original is None:
        return f"{path}: intact, {report.kept} records; nothing to repair"
    lines = [
        f"{path}: kept {report.kept} records, dropped {len(report.dropped)} damaged "
        f"region(s), {sum(d.size for d in report.dropped)} bytes:"
    ]
    lines += [f"  dropped {_where(d)}" for d in report.dropped]
    lines.append(f"original kept as {report.original}")
    return "\n".join(lines)
