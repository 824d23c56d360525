"""Crypto fees end to end against the simulator (issue 23): Alpaca charges a crypto buy's fee
in the coin received (0.01 BTC at 25 bps leaves 0.009975) and posts it as a CFEE activity.
The engine books the fee from the activity, through the ledger, so its position equals the
broker's without a reconciliation correction, and a restart (replay) keeps it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tradewire import Strategy
from tradewire.engine.config import JournalConfig, RiskConfig
from tradewire.live.node import TradingNode, Venues
from tradewire.sim.venue import VenueConfig, VenueSimulator

pytestmark = pytest.mark.timeout(60)

XQ = {"ev": "XQ", "pair": "BTC-USD", "bp": 60000, "bs": 1.5, "ap": 60010, "as": 2.0}


class BuysThenSells(Strategy):
    """Buys 0.01 BTC on the first quote; sells ``sell`` of it once told to."""

    def on_start(self) -> None:
        self.bought: Any = None
        self.sold: Any = None
        self.sell_qty = 0.0

    def on_quote(self, quote: Any) -> None:
        if self.bought is None:
            self.bought = self.buy(quote.symbol, 0.01)
        elif self.sell_qty and self.sold is None:
            self.sold = self.sell(quote.symbol, self.sell_qty)


@pytest.fixture
async def venue() -> AsyncIterator[VenueSimulator]:
    config = VenueConfig(symbols=("AAPL",), crypto=("BTC/USD",), crypto_fee_bps=25)
    async with VenueSimulator(config) as v:
        yield v


def node_for(venue: VenueSimulator, tmp_path: Path, strategy: Strategy) -> TradingNode:
    venues = Venues.simulator(venue.feed_url, venue.broker_url, venue.broker.stream_url)
    return TradingNode(
        venues,
        [strategy],
        risk_config=RiskConfig(price_band_pct=50, max_order_notional=1_000_000),
        journal_config=JournalConfig(fsync="never"),
        journal_path=tmp_path / "fees.twj",
        reconcile_interval_s=0.2,
    )


def broker_qty(venue: VenueSimulator) -> float:
    return float(venue.broker.book.positions["BTC/USD"].qty)


async def test_a_coin_fee_is_booked_from_its_activity_and_no_correction_is_counted(
    venue: VenueSimulator, tmp_path: Path, until: Any
) -> None:
    strategy = BuysThenSells(symbols=["BTC/USD"])
    node = node_for(venue, tmp_path, strategy)
    await node.start()
    try:
        await until(lambda: venue.feed.subscriber_count("XQ.BTC-USD") == 1)
        venue.feed.publish([{**XQ, "t": 1767268800000, "x": 1, "r": 1767268800010}])
        await until(lambda: strategy.bought is not None and strategy.bought.status == "filled")
        assert broker_qty(venue) == 0.009975  # the simulator charged 25 bps in the coin
        for _ in range(3):  # the same CFEE on every read: booked once
            await node.reconciler.run_once("test")
        assert node.book.qty("BTC/USD") == 0.009975 == broker_qty(venue)
        assert node.counters.reconcile_corrections.get("position", 0) == 0
        assert node.ledger.fees == 1
    finally:
        await node.stop(cancel_open_orders=True)

    again = node_for(venue, tmp_path, BuysThenSells(symbols=["BTC/USD"]))
    await again.start()  # the journal's fee is replayed, the broker's activity not rebooked
    try:
        await again.reconciler.run_once("test")
        await again.reconciler.run_once("test")
        assert again.book.qty("BTC/USD") == 0.009975
        assert again.counters.reconcile_corrections.get("position", 0) == 0
        assert again.ledger.fees == 0
    finally:
        await again.stop(cancel_open_orders=True)


async def test_a_sells_dollar_fee_comes_off_the_accounts_cash(
    venue: VenueSimulator, tmp_path: Path, until: Any
) -> None:
    strategy = BuysThenSells(symbols=["BTC/USD"])
    node = node_for(venue, tmp_path, strategy)
    await node.start()
    try:
        await until(lambda: venue.feed.subscriber_count("XQ.BTC-USD") == 1)
        venue.feed.publish([{**XQ, "t": 1767268800000, "x": 1, "r": 1767268800010}])
        await until(lambda: strategy.bought is not None and strategy.bought.status == "filled")
        await node.reconciler.run_once("test")
        cash = node.core.account.cash
        strategy.sell_qty = 0.005
        venue.feed.publish([{**XQ, "t": 1767268801000, "x": 1, "r": 1767268801010}])
        await until(lambda: strategy.sold is not None and strategy.sold.status == "filled")
        await node.reconciler.run_once("test")
        await node.reconciler.run_once("test")
        # 0.005 at the bid, 60000: 300 in, 0.75 (25 bps) charged in dollars
        assert node.core.account.cash == pytest.approx(cash + 300 - 0.75)
        assert float(venue.broker.book.cash) == pytest.approx(node.core.account.cash)
        assert node.book.qty("BTC/USD") == pytest.approx(0.004975) == broker_qty(venue)
        assert node.book.realized == pytest.approx(-0.05 - 0.75)
        assert node.counters.reconcile_corrections.get("position", 0) == 0
    finally:
        await node.stop(cancel_open_orders=True)
