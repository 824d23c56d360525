"""Issue 22, item 7: a run names the risk rules that denied its orders, and logs the first
denial of each rule per strategy with its numbers (later ones are only counted)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tradewire import Strategy
from tradewire.app.panel import summary
from tradewire.engine.config import JournalConfig, RiskConfig
from tradewire.live.node import TradingNode, Venues
from tradewire.sim.venue import VenueConfig, VenueSimulator

pytestmark = pytest.mark.timeout(60)


class TooBig(Strategy):
    """On its first quote: two orders beyond max_order_qty, one on a symbol with no quote."""

    def on_start(self) -> None:
        self.orders: list[Any] = []

    def on_quote(self, q: Any) -> None:
        if not self.orders:
            self.orders = [
                self.buy(q.symbol, 10, limit_price=q.ask_price),
                self.buy(q.symbol, 12, limit_price=q.ask_price),
                self.buy("MSFT", 1, limit_price=q.ask_price),
            ]


async def test_denials_are_named_by_rule_and_the_first_of_each_is_logged(tmp_path, until, caplog):
    caplog.set_level(logging.INFO)
    async with VenueSimulator(VenueConfig(symbols=("AAPL", "MSFT"))) as venue:
        venues = Venues.simulator(venue.feed_url, venue.broker_url, venue.broker.stream_url)
        strategy = TooBig(symbols=["AAPL"], name="too_big")
        node = TradingNode(
            venues,
            [strategy],
            risk_config=RiskConfig(max_order_qty=5),
            journal_config=JournalConfig(fsync="never"),
            journal_path=tmp_path / "j.twj",
        )
        await node.start()
        try:
            venue.feed.publish(
                [{"ev": "Q", "sym": "AAPL", "bp": 99.99, "bs": 1, "ap": 100.01, "as": 1, "t": 1}]
            )
            await until(lambda: len(strategy.orders) == 3)
            snap = node.snapshot()
        finally:
            await node.stop()

    assert snap.risk_denied == 3
    assert snap.denials_by_reason == {"max_qty": 2, "no_reference_price": 1}
    assert "risk denials: max_qty 2, no_reference_price 1" in summary(snap)
    first = [r.getMessage() for r in caplog.records if "denied by risk" in r.getMessage()]
    assert len(first) == 2, first  # one per rule, not one per order
    assert any("too_big" in m and "max_qty: 10 > 5" in m and "AAPL" in m for m in first), first
    assert any("no_reference_price" in m and "MSFT" in m for m in first), first
