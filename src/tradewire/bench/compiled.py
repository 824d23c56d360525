"""The ``tradewire-compiled`` contender: the same engine with its hot-path modules compiled
by mypyc, built into the bench's work folder so both run side by side in one bench run.

Only modules that compile *and* keep their behaviour are listed. Left out, with the reason
found: ``engine/journal.py`` and ``engine/codec.py`` (their msgspec ``Struct`` fields lose
their types under mypyc: records fail to decode), ``venues/alpaca/requests.py`` (the same:
the order body encodes differently; and build_order measured no faster compiled, 2.2 µs
both). The pure-Python modules stay the source of truth; this is a measurement.
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
    "tradewire/venues/alpaca/http.py",
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
