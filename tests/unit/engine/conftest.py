"""Fixtures for the engine's journal tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from tradewire.engine.journal.store import Journal

Row = tuple[str, str, dict[str, Any] | None]


@pytest.fixture
def write_journal(tmp_path: Path) -> Callable[[Iterable[Row]], Path]:
    """``write_journal(rows)``: a journal file holding ``(kind, cid, data)`` rows, in order."""

    def write(rows: Iterable[Row]) -> Path:
        path = tmp_path / "j.twj"
        journal = Journal(path)
        for kind, cid, data in rows:
            journal.append(kind, cid, data)
        journal.close()
        return path

    return write
