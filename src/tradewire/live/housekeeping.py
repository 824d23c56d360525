"""The node's housekeeping, off the hot path: the journal's fsync process, memory bounds,
the book's gauges."""

from __future__ import annotations

import logging
import os

from tradewire.engine import orders as o
from tradewire.engine.config import JournalConfig
from tradewire.engine.journal.codec import snapshot_records
from tradewire.engine.journal.store import Journal
from tradewire.engine.journal.sync import JournalSyncer
from tradewire.engine.positions import PositionBook

log = logging.getLogger("tradewire.live.node")


def housekeeping_cpus() -> set[int] | None:
    """CPUs this process is not pinned to (for helpers that must not take the engine's core)."""
    others = set(range(os.cpu_count() or 1)) - os.sched_getaffinity(0)
    return others or None


def start_journal_syncer(
    journal: Journal, config: JournalConfig, cpus: set[int] | None
) -> JournalSyncer | None:
    """fsync "batch": a child process syncs the journal (engine/journal/sync.py), on
    ``cpus`` or else off the engine's; None if it cannot start (the loop syncs then)."""
    syncer = JournalSyncer(journal.path, config.fsync_interval_ms, cpus=cpus or housekeeping_cpus())
    try:
        syncer.start()
    except OSError as exc:
        log.warning("journal syncer process not started (%s); syncing on the loop", exc)
        return None
    return syncer


def bound_memory(
    oms: o.OrderManager, book: PositionBook, journal: Journal, config: JournalConfig
) -> list[str]:
    """A long day at thousands of orders a second: forget ended orders beyond the bound,
    and start a new journal segment headed by the open state once the file is large.
    Returns the client_order_ids forgotten (the engine core forgets them too)."""
    forgotten = oms.evict_terminal(keep=config.keep_ended_orders)
    if journal.size > config.segment_mb * 1_000_000:
        archived = journal.rotate(snapshot_records(oms, book))
        log.info("journal: new segment; the previous one is kept as %s", archived)
    return forgotten


def book_gauges(book: PositionBook, oms: o.OrderManager) -> dict[str, float]:
    """P&L, open orders and exposure, as the metrics' gauges (at the book's latest marks)."""
    return {
        "tradewire_pnl_realized_usd": book.realized,
        "tradewire_pnl_unrealized_usd": book.unrealized,
        "tradewire_open_orders": float(oms.open_count),
        "tradewire_gross_exposure_usd": book.gross_exposure,
    }
