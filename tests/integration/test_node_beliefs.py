"""A node's beliefs are ledger events against the simulator, not notes beside the ledger
(issue 21, CORE.md finding 2): the kill switch is a KillEngaged event, start-up takes the
broker's positions as PositionCorrected events, and replaying the journal gives the book the
node holds. (Replaces unit tests that stubbed the broker and patched private methods.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tradewire.engine.config import JournalConfig, RiskConfig
from tradewire.engine.events import KillEngaged
from tradewire.engine.journal.replay import replay
from tradewire.engine.journal.store import Journal, read_journal
from tradewire.live.node import TradingNode, Venues
from tradewire.sim.venue import VenueConfig, VenueSimulator
from tradewire.venues.alpaca.client import AlpacaClient

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def venue() -> AsyncIterator[VenueSimulator]:
    async with VenueSimulator(VenueConfig(symbols=("AAPL", "MSFT"))) as v:
        yield v


def node_for(venue: VenueSimulator, path: Path) -> TradingNode:
    venues = Venues.simulator(venue.feed_url, venue.broker_url, venue.broker.stream_url)
    return TradingNode(
        venues,
        [],
        risk_config=RiskConfig(price_band_pct=50),
        journal_config=JournalConfig(fsync="never"),
        journal_path=path,
    )


async def test_the_kill_switch_is_a_kill_engaged_event_the_journal_replays(
    venue: Any, tmp_path: Path
) -> None:
    node = node_for(venue, tmp_path / "k.twj")
    await node.start()
    try:
        result = await node.kill("test", flatten=True)
        assert result["ok"] is True
    finally:
        await node.stop(cancel_open_orders=False)
    assert replay(read_journal(tmp_path / "k.twj").records).kill == KillEngaged("test", True, 0)


async def test_start_up_takes_the_brokers_positions_and_replay_agrees(
    venue: Any, tmp_path: Path
) -> None:
    # The journal believes 2 MSFT; the broker holds 5 AAPL (bought elsewhere) and no MSFT.
    path = tmp_path / "s.twj"
    journal = Journal(path, fsync="never")
    intent = {"symbol": "MSFT", "side": "buy", "qty": 2, "type": "market", "strategy": "s"}
    journal.append("intent", "c1", {**intent, "limit": None, "ref": 3.0})
    journal.append("ack", "c1", {"broker_id": "b1"})
    journal.append("fill", "c1", {"exec_id": "e1", "qty": 2, "price": 3.0})
    journal.close()
    venue.feed.publish([{"ev": "Q", "sym": "AAPL", "bp": 99.99, "bs": 1, "ap": 100.01, "as": 1}])
    async with AlpacaClient("test-key", "test-secret", base_url=venue.broker_url) as client:
        await client.place_order(symbol="AAPL", qty=5, side="buy", order_type="market")

    node = node_for(venue, path)
    await node.start()
    try:
        held = {s: node.book.qty(s) for s in ("AAPL", "MSFT")}
        assert held == {"AAPL": 5.0, "MSFT": 0.0}
        assert node.counters.reconcile_corrections.get("position", 0) >= 1  # MSFT: a miss
    finally:
        await node.stop(cancel_open_orders=False)
    book = replay(read_journal(path).records).book
    assert {s: book.qty(s) for s in ("AAPL", "MSFT")} == held


async def test_a_new_session_is_a_session_started_event_the_journal_replays(
    venue: Any, tmp_path: Path, until: Any
) -> None:
    node = node_for(venue, tmp_path / "d.twj")
    await node.start()
    try:
        node.session_clock.day = "2000-01-01"  # the last session seen: long ago
        await until(lambda: node.session_clock.day != "2000-01-01", timeout_s=5)  # the 1 s tick
        day = node.session_clock.day
    finally:
        await node.stop(cancel_open_orders=False)
    assert replay(read_journal(tmp_path / "d.twj").records).day == day
