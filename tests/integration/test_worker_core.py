"""A worker runs the engine core in remote mode: the same strategy context as inline (issue 21,
findings 2-4), over the in-process bus against the venue simulator. Before the core a worker
logged a traceback on every strategy exception and never stopped the strategy, its cash was
always 0, its handle tables only grew, and an ``on_start`` error was a bare exception."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from tradewire import Strategy, StrategyError
from tradewire.bus.local import LocalBus, LocalHub
from tradewire.engine.config import JournalConfig, RiskConfig
from tradewire.live.gateway import Gateway
from tradewire.live.node import TradingNode, Venues
from tradewire.live.worker import WorkerNode
from tradewire.sim.venue import VenueConfig, VenueSimulator

pytestmark = pytest.mark.timeout(60)


def quote(sym: str, bid: float, ask: float) -> dict[str, Any]:
    return {"ev": "Q", "sym": sym, "bp": bid, "bs": 1, "ap": ask, "as": 1, "t": 1}


@pytest.fixture
async def venue() -> AsyncIterator[VenueSimulator]:
    async with VenueSimulator(VenueConfig(symbols=("AAPL",))) as v:
        yield v


@pytest.fixture
async def gateway(venue: VenueSimulator, tmp_path: Any) -> AsyncIterator[tuple[Any, LocalHub]]:
    venues = Venues.simulator(venue.feed_url, venue.broker_url, venue.broker.stream_url)
    node = TradingNode(
        venues,
        [],
        risk_config=RiskConfig(price_band_pct=50, max_orders_per_second=1000),
        journal_config=JournalConfig(fsync="never"),
        journal_path=tmp_path / "gw.twj",
    )
    hub = LocalHub()
    gw = Gateway(node, [LocalBus(hub)], worker_timeout_s=5.0, heartbeat_s=0.2)
    await node.start()
    await gw.start()
    try:
        yield node, hub
    finally:
        await gw.stop()
        await node.stop()


async def run_worker(hub: LocalHub, strategy: Strategy, **kw: Any) -> WorkerNode:
    worker = WorkerNode(LocalBus(hub), [strategy], name="w1", resend_s=0.1, hello_s=0.2, **kw)
    await worker.start()
    return worker


class Raises(Strategy):
    def on_quote(self, q: Any) -> None:
        raise ValueError("bug in on_quote")


async def test_a_worker_strategy_has_the_error_budget_and_one_traceback(
    venue: Any, gateway: Any, until: Any, caplog: Any
) -> None:
    _node, hub = gateway
    worker = await run_worker(hub, Raises(symbols=["AAPL"]))
    try:
        await until(lambda: venue.feed.subscriber_count("Q.AAPL") == 1)
        with caplog.at_level(logging.ERROR):
            for i in range(30):
                venue.feed.publish([quote("AAPL", 99.99 + i / 100, 100.01 + i / 100)])
            await until(lambda: worker.core.health["Raises"].stopped)
        assert worker.core.counters.strategy_errors["Raises"] == 20
        assert len([r for r in caplog.records if r.exc_info]) == 1
    finally:
        await worker.stop()


class Buys(Strategy):
    """Buys 1 at the ask on every quote (up to ``n``); reads its money after each fill."""

    n = 5

    def on_start(self) -> None:
        self.bought = 0
        self.money: list[tuple[Decimal, Decimal]] = []

    def on_quote(self, q: Any) -> None:
        if self.bought < self.n:
            self.bought += 1
            self.buy(q.symbol, 1, limit_price=q.ask_price)

    def on_fill(self, update: Any) -> None:
        self.money.append((self.cash, self.equity))


async def test_a_worker_sees_the_accounts_cash_and_forgets_ended_orders(
    venue: Any, gateway: Any, until: Any
) -> None:
    node, hub = gateway
    strategy = Buys(symbols=["AAPL"])
    worker = await run_worker(hub, strategy)
    worker.core.keep_ended = 2
    try:
        start_cash = strategy.cash
        assert start_cash == node.core.cash > 0  # the gateway's account, from the welcome
        await until(lambda: venue.feed.subscriber_count("Q.AAPL") == 1)
        for i in range(1, 6):
            venue.feed.publish([quote("AAPL", 99.99, 100.01)])
            await until(lambda i=i: len(strategy.money) == i)
        assert len(strategy.money) == 5
        assert strategy.money[-1][0] == start_cash - Decimal("500.05")
        assert strategy.money[-1][1] > 0
        await until(lambda: worker.core.cash == node.core.cash)
        assert len(worker.core.handles) == 2  # the 3 oldest ended orders are forgotten
    finally:
        await worker.stop()


class Rests(Strategy):
    def on_start(self) -> None:
        self.order: Any = None
        self.replacement: Any = None

    def on_quote(self, q: Any) -> None:
        if self.order is None:
            self.order = self.buy(q.symbol, 3, limit_price=90.0)


async def test_a_worker_replaces_an_order_through_the_gateway(
    venue: Any, gateway: Any, until: Any
) -> None:
    node, hub = gateway
    strategy = Rests(symbols=["AAPL"])
    worker = await run_worker(hub, strategy)
    try:
        await until(lambda: venue.feed.subscriber_count("Q.AAPL") == 1)
        venue.feed.publish([quote("AAPL", 99.99, 100.01)])
        await until(lambda: strategy.order is not None and strategy.order.status == "new")
        new = strategy.replace(strategy.order, limit_price=91.0)
        assert new is not None
        await until(lambda: new.status == "new" and strategy.order.status == "replaced")
        at_venue = venue.broker.book.orders_by_client_id[new.client_order_id]
        assert str(at_venue.limit_price) == "91.00"
        assert new.replaces == strategy.order.client_order_id
        assert node.oms.get(new.client_order_id).strategy == "worker:w1"
    finally:
        await worker.stop()


class FailsToStart(Strategy):
    def on_start(self) -> None:
        raise KeyError("threshold")

    def on_stop(self) -> None:
        raise AssertionError("on_stop of a strategy that never started")


async def test_on_start_raising_is_a_strategy_error_in_a_worker(gateway: Any) -> None:
    _node, hub = gateway
    worker = WorkerNode(LocalBus(hub), [FailsToStart(symbols=["AAPL"])], name="w2", hello_s=0.2)
    with pytest.raises(StrategyError, match="strategy FailsToStart: on_start raised KeyError"):
        await worker.start()
    await worker.stop()  # no on_stop: it never started


class BuysBitcoin(Strategy):
    def on_start(self) -> None:
        self.order: Any = None

    def on_quote(self, q: Any) -> None:
        if self.order is None:
            if self.params.get("notional"):
                self.order = self.buy(q.symbol, notional=self.params["notional"])
            else:
                self.order = self.buy(q.symbol, 0.001)


@pytest.mark.parametrize("notional", [None, 250], ids=["qty", "notional"])
async def test_a_worker_trades_a_crypto_pair_through_the_gateway(
    tmp_path: Any, until: Any, notional: float | None
) -> None:
    # issue 23: the gateway streams the pair on /crypto and forwards its frames; the worker
    # decodes them and its order leaves as BTC/USD gtc; a notional order's intent carries it
    async with VenueSimulator(VenueConfig(symbols=("AAPL",), crypto=("BTC/USD",))) as venue:
        venues = Venues.simulator(venue.feed_url, venue.broker_url, venue.broker.stream_url)
        node = TradingNode(
            venues,
            [],
            risk_config=RiskConfig(price_band_pct=50, max_order_notional=1_000_000),
            journal_config=JournalConfig(fsync="never"),
            journal_path=tmp_path / "gw.twj",
        )
        hub = LocalHub()
        gw = Gateway(node, [LocalBus(hub)], heartbeat_s=0.2)
        await node.start()
        await gw.start()
        strategy = BuysBitcoin(symbols=["BTC/USD"], params={"notional": notional})
        worker = await run_worker(hub, strategy)
        try:
            await until(lambda: venue.feed.subscriber_count("XQ.BTC-USD") == 1)
            xq = {"ev": "XQ", "pair": "BTC-USD", "bp": 60000, "bs": 1.5, "ap": 60010, "as": 2}
            venue.feed.publish([{**xq, "t": 1767268800000, "x": 1, "r": 1767268800010}])
            await until(lambda: strategy.order is not None and strategy.order.status == "filled")
            sent = venue.broker.book.orders_by_client_id[strategy.order.client_order_id]
            assert (sent.symbol, sent.time_in_force) == ("BTC/USD", "gtc")
            if notional is None:
                assert node.book.qty("BTC/USD") == pytest.approx(0.001)
            else:  # 250 dollars at the 60,010 ask, down to BTC/USD's 0.0001 increment
                assert (sent.qty, sent.notional) == (None, Decimal(250))
                assert node.book.qty("BTC/USD") == pytest.approx(0.0041)
                assert strategy.order.filled_qty == pytest.approx(0.0041)
        finally:
            await worker.stop()
            await gw.stop()
            await node.stop()
