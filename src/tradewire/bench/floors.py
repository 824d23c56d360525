"""The machine's own floor in every tick-to-trade run: a C contender and a pure-Python one.

Absolute figures do not hold from day to day on a shared VM (the same code measured 4×
apart), so every contender is reported against floors measured in the same run, against
the same simulator: ``contenders/floor.c`` (read the trigger frame, write a canned order on a kept-alive
connection: the kernel and loopback) and ``contenders/floor_py.py`` (the same in CPython with raw
sockets: the interpreter on top). Each waits blocking or busy-polls (``-busy``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tradewire.bench import contender

FLOORS = ("floor-c", "floor-c-busy", "floor-py", "floor-py-busy")
LABELS = {
    "floor-c": "floor: C",
    "floor-c-busy": "floor: C, busy-poll",
    "floor-py": "floor: Python",
    "floor-py-busy": "floor: Python, busy-poll",
}
# Which floor a contender is held against: blocking ones against the blocking C floor,
# busy-polling ones against the busy-polling C floor (the targets: 1.5× and 2×).


def is_floor(name: str) -> bool:
    return name in FLOORS


def compiler() -> str | None:
    return shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


def unavailable(names: Iterable[str]) -> dict[str, str]:
    """``{contender: why}`` for C floors on a machine with no C compiler."""
    if compiler() is not None:
        return {}
    return {n: "no C compiler (cc, gcc or clang) on PATH" for n in names if n.startswith("floor-c")}


def build(workdir: Path) -> Path:
    """Compile ``floor.c`` (shipped as package data) into ``workdir``; errors raise."""
    cc = compiler()
    if cc is None:
        raise RuntimeError("no C compiler (cc, gcc or clang) on PATH")
    out = workdir / "floor"
    source = contender("floor.c")
    done = subprocess.run(
        [cc, "-O2", "-o", str(out), str(source)], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"building floor.c failed:\n{done.stderr}")
    return out


def command(
    name: str, feed_url: str, broker_url: str, symbols: list[str], workdir: Path
) -> list[str]:
    """The floor's command line against this simulator."""
    host = feed_url.split("//", 1)[1].split("/", 1)[0]
    busy = ["--busy-poll"] if name.endswith("-busy") else []
    if name.startswith("floor-c"):
        broker = broker_url.split("//", 1)[1]
        return [str(build(workdir)), host, broker, ",".join(symbols), *busy]
    return [
        sys.executable,
        str(contender("floor_py.py")),
        host,
        broker_url,
        ",".join(symbols),
        *busy,
    ]


def versus_floor(per: Mapping[str, Any]) -> dict[str, dict[str, float | str]]:
    """Each contender's p50 and p99 over the C floor of its waiting kind, same run."""
    out: dict[str, dict[str, float | str]] = {}
    for name, r in per.items():
        busy = "-busy" in name
        floor = per.get("floor-c-busy" if busy else "floor-c")
        if floor is None or name == ("floor-c-busy" if busy else "floor-c"):
            continue
        row: dict[str, float | str] = {"floor": "floor-c-busy" if busy else "floor-c"}
        for q in ("p50", "p99"):
            base = floor["latency"][f"{q}_us"]
            row[q] = round(r["latency"][f"{q}_us"] / base, 2) if base else float("nan")
        out[name] = row
    return out


def report_lines(vs: Mapping[str, Mapping[str, Any]], labels: Mapping[str, str]) -> list[str]:
    if not vs:
        return []
    lines = ["  against the C floor of the same run (× its p50 / p99):"]
    for name, row in vs.items():
        # With --rounds: the median of each round's ratio, and its range.
        spread = (
            f"  rounds {row['p50_range'][0]:.2f}-{row['p50_range'][1]:.2f}× / "
            f"{row['p99_range'][0]:.2f}-{row['p99_range'][1]:.2f}×"
            if isinstance(row.get("p50_range"), list) and isinstance(row.get("p99_range"), list)
            else ""
        )
        lines.append(
            f"    {labels.get(name, name):<28}{row['p50']:>6.2f}× {row['p99']:>6.2f}×"
            f"   (vs {labels.get(str(row['floor']), row['floor'])}){spread}"
        )
    return lines
