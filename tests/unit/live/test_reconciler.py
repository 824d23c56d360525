"""The reconciler corrects a position through the ledger (issue 21, CORE.md finding 2).

It used to call ``ledger.book.set_position`` and write a ``position`` note beside the ledger.
A stub broker: no sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradewire.engine import orders as o
from tradewire.engine.journal.replay import replay
from tradewire.engine.journal.store import Journal, read_journal
from tradewire.engine.ledger import Ledger
from tradewire.engine.positions import PositionBook
from tradewire.live.reconciler import Reconciler
from tradewire.venues.alpaca.messages import Position


class StubBroker:
    def __init__(self, positions: list[Any]) -> None:
        self.positions = positions

    @contextlib.contextmanager
    def background(self) -> Iterator[None]:
        yield

    async def list_all_open_orders(self) -> list[Any]:
        return []

    async def get_positions(self) -> list[Any]:
        return self.positions


def test_a_confirmed_position_difference_is_a_position_corrected_event(tmp_path: Path):
    path = tmp_path / "j.twj"
    ledger = Ledger(o.OrderManager(), PositionBook(), Journal(path, fsync="never"))
    ledger.book.apply_fill("A", "buy", 3, 10.0)
    broker = StubBroker(
        [Position(symbol="A", qty=Decimal(5), avg_entry_price=Decimal(12), side="long")]
    )
    corrections: dict[str, int] = {}
    rec = Reconciler(broker, ledger, settling=set, corrections=corrections)  # type: ignore[arg-type]

    async def rounds() -> None:
        await rec.run_once("test")  # suspected
        await rec.run_once("test")  # confirmed

    asyncio.run(rounds())
    ledger.journal.close()
    assert ledger.book.qty("A") == 5.0
    assert corrections == {"position": 1}
    assert ledger.corrections == 1
    records = read_journal(path).records
    assert [(r.kind, r.cid, r.data) for r in records] == [
        ("position", "A", {"qty": 5.0, "avg": 12.0, "reason": "reconcile"})
    ]
    assert replay(records).book.qty("A") == 5.0
