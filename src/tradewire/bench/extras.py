"""Which bench contenders the installed packages allow, known before any process is spawned.

The SDK contenders (massive, alpaca-py) and ``--plot`` (matplotlib) come with the
``[bench]`` extra, not with the base install. Each contender runs in a child process, so an
SDK that is missing would only surface as a child crashing mid-run; the bench checks here
first and skips what cannot run, saying why, instead. ``find_spec`` finds a package without
importing it: importing alpaca-py or matplotlib in the parent would cost seconds for nothing.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Mapping

INSTALL_HINT = "pip install 'tradewire[bench]'"

# import name -> the distribution a user installs (what the message must name)
DISTRIBUTIONS = {"massive": "massive", "alpaca": "alpaca-py", "matplotlib": "matplotlib"}


def installed(module: str) -> bool:
    """Whether ``module`` can be found; a finder that refuses it counts as not installed."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing(modules: Iterable[str]) -> list[str]:
    """The distributions to install for ``modules``, in the order given."""
    return [DISTRIBUTIONS.get(m, m) for m in modules if not installed(m)]


def reason(distributions: Iterable[str]) -> str:
    """One phrase shared by the report, the JSON and the stderr line, so they never disagree."""
    return f"not installed: {', '.join(distributions)} ({INSTALL_HINT})"


def unavailable(needs: Mapping[str, Iterable[str]], names: Iterable[str]) -> dict[str, str]:
    """``{contender: why}`` for each of ``names`` whose packages (``needs``) are missing."""
    out: dict[str, str] = {}
    for name in names:
        absent = missing(needs.get(name, ()))
        if absent:
            out[name] = reason(absent)
    return out
