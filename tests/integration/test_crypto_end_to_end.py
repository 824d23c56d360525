"""Crypto end to end against the simulator (issue 23): one strategy with a stock and a crypto
pair gets both markets over their own connections, its crypto order leaves as Alpaca takes it
(BTC/USD, gtc, a fractional qty), and the engine's one position in the pair equals the
broker's (which lists it as BTCUSD) after reconciliation, a restart included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradewire import ConfigError, Strategy
from tradewire.engine.config import JournalConfig, RiskConfig
from tradewire.live.node import TradingNode, Venues
from tradewire.sim.venue import VenueConfig, VenueSimulator
from tradewire.venues.polygon.crypto import CryptoQuote

pytestmark = pytest.mark.timeout(60)


class Both(Strategy):
    """Buys 0.001 BTC on the first crypto quote and 1 AAPL on the first stock quote."""

    def on_start(self) -> None:
        self.crypto: Any = None
        self.stock: Any = None
        self.pairs_seen: set[str] = set()

    def on_quote(self, quote: Any) -> None:
        if type(quote) is CryptoQuote:
            self.pairs_seen.add(quote.symbol)
            if self.crypto is None:
                self.crypto = self.buy(quote.symbol, 0.001)
        elif self.stock is None:
            self.stock = self.buy(quote.symbol, 1)


@pytest.fixture
async def venue() -> AsyncIterator[VenueSimulator]:
    config = VenueConfig(symbols=("AAPL",), crypto=("BTC/USD",))
    async with VenueSimulator(config) as v:
        yield v


def node_for(venue: VenueSimulator, tmp_path: Path, strategy: Strategy) -> TradingNode:
    venues = Venues.simulator(venue.feed_url, venue.broker_url, venue.broker.stream_url)
    return TradingNode(
        venues,
        [strategy],
        risk_config=RiskConfig(price_band_pct=50, max_order_notional=1_000_000),
        journal_config=JournalConfig(fsync="never"),
        journal_path=tmp_path / "crypto.twj",
        reconcile_interval_s=0.2,
    )


async def test_a_strategy_trades_a_stock_and_a_pair_and_the_engine_agrees_with_the_broker(
    venue: VenueSimulator, tmp_path: Path, until: Any
) -> None:
    strategy = Both(symbols=["AAPL", "btc/usd"])
    node = node_for(venue, tmp_path, strategy)
    await node.start()
    try:
        assert sorted(node.feeds) == ["crypto", "stocks"]
        assert node.feeds["crypto"].url.endswith("/crypto")
        await until(lambda: venue.feed.subscriber_count("Q.AAPL") == 1)
        await until(lambda: venue.feed.subscriber_count("XQ.BTC-USD") == 1)
        venue.feed.publish([{"ev": "Q", "sym": "AAPL", "bp": 99.99, "bs": 1, "ap": 100.01}])
        xq = {"ev": "XQ", "pair": "BTC-USD", "bp": 60000, "bs": 1.5, "ap": 60010, "as": 2.0}
        venue.feed.publish([{**xq, "t": 1767268800000, "x": 1, "r": 1767268800010}])
        await until(lambda: strategy.crypto is not None and strategy.crypto.status == "filled")
        await until(lambda: strategy.stock is not None and strategy.stock.status == "filled")
        assert strategy.pairs_seen == {"BTC/USD"}
        sent = venue.broker.book.orders_by_client_id[strategy.crypto.client_order_id]
        assert (sent.symbol, sent.time_in_force, str(sent.qty)) == ("BTC/USD", "gtc", "0.001")
        # one position per asset: the broker lists BTCUSD, the engine keys BTC/USD
        await node.reconciler.run_once("test")
        assert set(node.book.positions) == {"AAPL", "BTC/USD"}
        assert node.book.qty("BTC/USD") == pytest.approx(0.001)
        assert node.counters.reconcile_corrections.get("position", 0) == 0
    finally:
        await node.stop(cancel_open_orders=True)

    again = node_for(venue, tmp_path, Both(symbols=["AAPL", "BTC/USD"]))
    await again.start()  # a restart reads the broker's BTCUSD as the journal's BTC/USD
    try:
        assert again.book.qty("BTC/USD") == pytest.approx(0.001)
        assert "BTCUSD" not in again.book.positions
        assert again.counters.reconcile_corrections.get("position", 0) == 0
    finally:
        await again.stop(cancel_open_orders=True)


class BuysEther(Strategy):
    def on_start(self) -> None:
        self.order: Any = None

    def on_quote(self, quote: Any) -> None:
        if self.order is None:
            self.order = self.buy(quote.symbol, 0.01, limit_price=3000.5)


async def test_a_pairs_increments_are_loaded_from_the_brokers_assets_at_start(
    tmp_path: Path, until: Any
) -> None:
    # Before: only BTC/USD was known, and an ETH/USD order was denied "unknown crypto asset
    # ETH/USD: load it first"; now its asset (price increment 0.1 on the simulator) is loaded.
    async with VenueSimulator(VenueConfig(symbols=("AAPL",), crypto=("ETH/USD",))) as venue:
        strategy = BuysEther(symbols=["ETH/USD"])
        node = node_for(venue, tmp_path, strategy)
        await node.start()
        try:
            assert node.instruments.get("ETH/USD").price_increment == Decimal("0.1")
            await until(lambda: venue.feed.subscriber_count("XQ.ETH-USD") == 1)
            xq = {"ev": "XQ", "pair": "ETH-USD", "bp": 3000.0, "bs": 4, "ap": 3000.5, "as": 3}
            venue.feed.publish([{**xq, "t": 1767268800000, "x": 1, "r": 1767268800010}])
            await until(lambda: strategy.order is not None and strategy.order.status == "filled")
            assert strategy.order.denied is None
        finally:
            await node.stop(cancel_open_orders=True)


async def test_a_pair_the_broker_does_not_list_is_a_config_error(tmp_path: Path) -> None:
    async with VenueSimulator(VenueConfig(symbols=("AAPL",), crypto=("BTC/USD",))) as venue:
        node = node_for(venue, tmp_path, BuysEther(symbols=["DOGE/USD"]))
        with pytest.raises(ConfigError, match="crypto asset DOGE/USD is not known to the broker"):
            await node.start()
        await node.stop(cancel_open_orders=False)
