"""The ``tradewire-compiled`` contender: the same engine with its hot-path modules compiled
by mypyc, built into the bench's work folder so both run side by side in one bench run.

The modules are the issue's list: the engine core (risk, orders, positions, ledger), the
journal and its codec, the request builder and the HTTP layer, and the feed protocol. Their
msgspec ``Struct``s live in modules that are not compiled (``engine/journal/record.py``,
``venues/alpaca/order_body.py``, ``venues/polygon/messages.py``): mypyc breaks a Struct
defined in a compiled module. The pure-Python modules stay the source of truth; this is a
measurement (docs/performance.md, "Issue 14").
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import tradewire

MODULES = (
    "tradewire/engine/risk.py",
    "tradewire/engine/orders.py",
    "tradewire/engine/positions.py",
    "tradewire/engine/ledger.py",
    "tradewire/engine/journal/store.py",
    "tradewire/engine/journal/codec.py",
    "tradewire/engine/journal/replay.py",
    "tradewire/venues/alpaca/requests.py",
    "tradewire/venues/alpaca/http.py",
    "tradewire/venues/polygon/protocol.py",
)


def available() -> str | None:
    """Why the contender cannot run here, or None."""
    try:
        import mypyc  # noqa: F401
    except ImportError:
        return "not installed: mypy (pip install mypy), whose mypyc compiles the modules"
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        return "no C compiler (cc or gcc) on PATH"
    return None


def build(workdir: Path) -> Path:
    """A copy of the package with MODULES compiled beside their sources; returns the folder
    to put first on PYTHONPATH."""
    root = workdir / "native"
    if root.exists():
        shutil.rmtree(root)
    src = Path(tradewire.__file__).parent
    shutil.copytree(src, root / "tradewire", ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run(
        [sys.executable, "-m", "mypyc", *MODULES],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"mypyc failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return root
