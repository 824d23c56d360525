"""The ``tradewire-baseline`` contender: the engine of another checkout, beside this one.

A change to the hot path is decided by paired rounds (``--rounds``), and this machine's
run-to-run noise (±40 %) is larger than most such changes: two bench runs, one before and
one after, cannot decide it. Here the engine of another checkout (its ``src`` folder, named
by ``$TRADEWIRE_BENCH_BASELINE``, e.g. from ``git worktree add /tmp/base main``) runs as one
more contender, with the same config and simulator, round by round beside ``tradewire``.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "TRADEWIRE_BENCH_BASELINE"


def path() -> Path | None:
    """The baseline's source folder (first on the engine's PYTHONPATH), or None."""
    value = os.environ.get(ENV, "").strip()
    return Path(value) if value else None


def available() -> str | None:
    """Why the contender cannot run here, or None."""
    src = path()
    if src is None:
        return f"set ${ENV} to another checkout's src folder"
    if not (src / "tradewire" / "__init__.py").is_file():
        return f"${ENV}={src} holds no tradewire package"
    return None
