"""The node's new session and kill switch are ledger events, not notes beside the ledger
(issue 21, CORE.md finding 2). A node built, never started: no sockets."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tradewire.engine.events import KillEngaged, SessionStarted
from tradewire.engine.journal.replay import replay
from tradewire.engine.journal.store import read_journal
from tradewire.live.node import TradingNode, Venues
from tradewire.venues.alpaca.messages import Position


def _node(tmp_path: Path) -> TradingNode:
    venues = Venues.simulator("ws://127.0.0.1:1/stocks", "http://127.0.0.1:1", "ws://127.0.0.1:1")
    return TradingNode(venues, [], journal_path=tmp_path / "j.twj")


def _spy(node: TradingNode, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    seen: list[Any] = []
    record = getattr(node.ledger, "record", None)

    def spy(event: Any) -> bool:
        seen.append(event)
        return record(event) if record is not None else True

    monkeypatch.setattr(node.ledger, "record", spy, raising=False)
    return seen


def test_a_new_session_is_a_session_started_event(tmp_path, monkeypatch):
    node = _node(tmp_path)
    seen = _spy(node, monkeypatch)
    node.session_clock.day = "2000-01-01"  # the last session seen: long ago

    async def tick() -> None:
        node._tick()

    asyncio.run(tick())
    node.journal.close()
    day = node.session_clock.day
    assert seen == [SessionStarted(day)]
    assert replay(read_journal(tmp_path / "j.twj").records).day == day


def test_the_kill_switch_is_a_kill_engaged_event(tmp_path, monkeypatch):
    node = _node(tmp_path)
    seen = _spy(node, monkeypatch)

    async def cancel_everything(**_: Any) -> Any:
        return SimpleNamespace(ok=True, as_dict=lambda: {"ok": True})

    monkeypatch.setattr(node, "_cancel_everything", cancel_everything)
    asyncio.run(node.kill("test", flatten=True))
    node.journal.close()
    assert seen == [KillEngaged("test", True, 0)]
    assert replay(read_journal(tmp_path / "j.twj").records).kill == KillEngaged("test", True, 0)


def test_start_up_takes_the_brokers_positions_as_corrections_the_journal_replays(
    tmp_path, monkeypatch
):
    # Start-up overwrote the book with set_position: no event, no record, no count.
    from decimal import Decimal

    from tradewire.engine.events import PositionCorrected
    from tradewire.engine.journal.store import Journal

    path = tmp_path / "j.twj"
    journal = Journal(path, fsync="never")
    intent = {"symbol": "GONE", "side": "buy", "qty": 2, "type": "market", "strategy": "s"}
    journal.append("intent", "c1", {**intent, "limit": None, "ref": 3.0})
    journal.append("ack", "c1", {"broker_id": "b1"})
    journal.append("fill", "c1", {"exec_id": "e1", "qty": 2, "price": 3.0})
    journal.close()
    node = _node(tmp_path)
    seen = _spy(node, monkeypatch)

    async def nothing(*_: Any, **__: Any) -> Any:
        return None

    async def positions() -> list[Any]:
        return [Position(symbol="A", qty=Decimal(5), avg_entry_price=Decimal("10.5"), side="long")]

    async def account() -> Any:
        return SimpleNamespace(cash=Decimal(1000), buying_power=Decimal(2000))

    monkeypatch.setattr(node.reconciler, "run_once", nothing)
    monkeypatch.setattr(node.broker, "get_positions", positions)
    monkeypatch.setattr(node.broker, "get_account", account)
    asyncio.run(node._recover())
    node.journal.close()
    assert seen == [
        PositionCorrected("A", 5.0, 10.5, "start-up"),
        PositionCorrected("GONE", 0.0, 0.0, "start-up"),
    ]
    assert (node.book.qty("A"), node.book.qty("GONE")) == (5.0, 0.0)
    assert node.counters.reconcile_corrections == {"position": 2}
    book = replay(read_journal(path).records).book
    assert (book.qty("A"), book.qty("GONE")) == (5.0, 0.0)
