"""Opt-in conflation for a worker that falls behind: the latest quote per symbol, not all.

A strategy slower than the feed cannot catch up by working through every stale quote; the
gateway would only drop frames on it (counted, a gap). With ``--conflate`` the worker reads
what its buffer holds in one pass and hands its strategies, per symbol, only the newest
quote of that pass; trades and bars are events, not state, so every one is delivered, in
order. A worker that keeps up sees one frame per pass, so nothing is skipped and its
latency is that of one more loop turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tradewire.venues.polygon.messages import Quote


def conflate(events: Sequence[Any]) -> tuple[list[Any], int]:
    """Keep every event except quotes a later quote of the same symbol supersedes.

    Returns the events to deliver, in their original order, and how many were skipped.
    """
    latest: dict[str, int] = {}
    for i, ev in enumerate(events):
        if type(ev) is Quote:
            latest[ev.symbol] = i
    if len(latest) == sum(1 for ev in events if type(ev) is Quote):
        return list(events), 0
    kept = [ev for i, ev in enumerate(events) if type(ev) is not Quote or latest[ev.symbol] == i]
    return kept, len(events) - len(kept)
