"""What a run's end looks like in its last panel frame and summary: the true end states.

A snapshot taken after the stop still carries the node's trading state (``ACTIVE``,
``HALTED``) and each strategy's "running"; read as they are, the summary said "final state
ACTIVE" and "strategy mr: running" after a Ctrl-C, and a gateway listed a worker as running
under "worker mr1 GONE". Here they are turned into what happened: the run stopped (and why),
the node stopped cleanly, was killed or halted, each strategy stopped (or the error that
stopped it, or gone with its worker).
"""

from __future__ import annotations

from tradewire.fmt import qty
from tradewire.live.snapshot import NodeSnapshot

RUNNING = "running"
SHOWN_POSITIONS = 6  # in the one line that says positions were left open


def end_state(s: NodeSnapshot) -> str:
    """The node's trading state as an outcome: ``stopped cleanly``, ``killed (…)``…"""
    if s.state == "HALTED":
        kind = "killed" if s.note.startswith("kill switch") else "halted"
        return f"{kind} ({s.note})" if s.note else kind
    if s.state == "REDUCING":
        return f"reducing only ({s.note})" if s.note else "reducing only"
    if s.open_orders or s.unverified_orders:
        unverified = f" ({s.unverified_orders:,} not verified)" if s.unverified_orders else ""
        return f"stopped with {s.open_orders:,} orders still open{unverified}"
    return "stopped cleanly"


def strategy_state(s: NodeSnapshot, name: str, why: str) -> str:
    """``running`` (or ``stopped`` once the run ended), ``gone`` for a worker that left, or
    why the strategy was stopped."""
    if why != RUNNING:
        return why
    worker = s.workers.get(name.removeprefix("worker:")) if name.startswith("worker:") else None
    if worker is not None and not worker.get("alive"):
        return "gone"
    return "stopped" if s.ended else RUNNING


def open_positions(s: NodeSnapshot) -> str:
    """After a stop: the positions still held, in one line ("" when flat or still running)."""
    held = [p for p in s.positions if p.qty]
    if not s.ended or not held:
        return ""
    shown = ", ".join(f"{p.symbol} {qty(p.qty)}" for p in held[:SHOWN_POSITIONS])
    more = len(held) - SHOWN_POSITIONS
    return f"open positions left at the stop: {shown}" + (f" and {more} more" if more > 0 else "")
