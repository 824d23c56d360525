"""The journal's record type, in a module of its own.

A ``msgspec.Struct`` defined in a module that mypyc compiles loses its field types (the
decoder then refuses every record: mypyc/mypyc#1098, msgspec#194). Kept here, outside any
compiled module, the journal and its codec can be compiled (bench: ``tradewire-compiled``).
"""

from __future__ import annotations

from typing import Any

import msgspec


class Record(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One journal line. ``kind`` is intent, sent, ack, fill, cancel_req, canceled, expired,
    replaced, rejected, unknown, resolved, abandoned, denied; ``data`` depends on it."""

    kind: str
    cid: str
    ts_ns: int
    data: dict[str, Any] | None = None
