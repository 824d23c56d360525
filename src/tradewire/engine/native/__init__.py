"""The native order path (issue 26), and whether this process has it.

``_orderpath`` is a C extension built from ``_orderpath.c`` by ``pip install`` (setup.py,
``optional=True``: without a compiler the install still succeeds). Without it, or with
``TRADEWIRE_NATIVE=0`` in the environment, every caller takes the pure-Python path, which
does the same thing (:mod:`tradewire.engine.risk_rules` is the rules' twin; the test suite
runs both). :func:`notice` is the one line a host logs when it runs without it.
"""

from __future__ import annotations

import os
from types import ModuleType

__all__ = ["NATIVE", "notice"]


def _load() -> tuple[ModuleType | None, str]:
    if os.environ.get("TRADEWIRE_NATIVE", "1").strip().lower() in ("0", "false", "no", "off"):
        return None, "TRADEWIRE_NATIVE=0"
    try:
        from tradewire.engine.native import _orderpath
    except ImportError as exc:
        return None, f"not built ({exc})"
    return _orderpath, ""


NATIVE, _WHY_NOT = _load()
"""The compiled module, or ``None``: then the pure-Python path runs."""


def notice() -> str:
    """One line for a host's log: which order path runs, and why not the native one."""
    if NATIVE is not None:
        return "order path: native (C)"
    return (
        f"order path: pure Python, the native one is off: {_WHY_NOT} "
        "(reinstall with a C compiler to build it: pip install -e .)"
    )
