"""``tradewire bench``: the harness, and the contenders it runs.

The contenders that run as subprocesses and are never imported (the C and Python floors, the
SDK baseline, the NautilusTrader backtest) live in ``contenders/`` as package data: no
``__init__.py``, not type-checked with the package, started by file path
(``sys.executable path/to/contender.py``, or compiled, for ``floor.c``).
"""

from pathlib import Path

CONTENDERS = Path(__file__).with_name("contenders")


def contender(filename: str) -> Path:
    """The path of a shipped contender file, e.g. ``contender("floor_py.py")``."""
    path = CONTENDERS / filename
    if not path.is_file():
        raise FileNotFoundError(f"no bench contender {filename!r} in {CONTENDERS}")
    return path
