"""The order-path warmer (live/warm.py) runs the submit path's pure steps and leaves no
trace: no order at the venue, no journal record, the real risk engine's throttle and
counters untouched, and a real order right after it goes through as usual."""

from __future__ import annotations

from typing import Any

import pytest

from tradewire import Strategy
from tradewire.engine.config import JournalConfig, RiskConfig
from tradewire.live.node import TradingNode, Venues
from tradewire.live.warm import OrderPathWarmer
from tradewire.sim.venue import VenueConfig, VenueSimulator

pytestmark = pytest.mark.timeout(60)


class Idle(Strategy):
    pass


async def test_warming_sends_journals_and_counts_nothing(tmp_path: Any, until: Any) -> None:
    async with VenueSimulator(VenueConfig(symbols=("AAPL",))) as venue:
        venues = Venues.simulator(venue.feed_url, venue.broker_url, venue.broker.stream_url)
        strategy = Idle(symbols=["AAPL"])
        node = TradingNode(
            venues,
            [strategy],
            risk_config=RiskConfig(price_band_pct=50, max_orders_per_second=5),
            journal_config=JournalConfig(fsync="never"),
            journal_path=tmp_path / "w.twj",
        )
        await node.start()
        try:
            node.mids["AAPL"] = 100.0
            records = node.journal.records_written
            tokens = node.risk.tokens
            denials = dict(node.risk.denials)
            warmer = OrderPathWarmer(node)
            for _ in range(50):  # ten times the throttle: the twin never throttles
                warmer.tick()
            assert warmer.passes == 50
            assert warmer.risk.denials == denials  # every dry check was approved
            assert node.journal.records_written == records
            assert node.risk.tokens == tokens
            assert node.risk.denials == denials
            assert node.broker.orders_written == 0
            assert venue.broker.book.orders_by_client_id == {}
            handle = strategy.buy("AAPL", 1, limit_price=100.0)
            assert handle.denied is None
            await until(lambda: len(venue.broker.book.orders_by_client_id) == 1)
        finally:
            await node.stop()
