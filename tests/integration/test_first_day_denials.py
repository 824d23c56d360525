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


# -- issue 22, item 8: the sample strategy pauses after a denial in a worker as it does inline --


def _quote(i: int) -> dict[str, Any]:
    # i == 0 sets the average at 100; each later quote is an entry signal (ask well below it)
    bid, ask = (99.99, 100.01) if i == 0 else (99.80 - 0.01 * i, 99.82 - 0.01 * i)
    return {"ev": "Q", "sym": "AAPL", "bp": bid, "bs": 1, "ap": ask, "as": 1, "t": i + 1}


async def _denials_of_the_sample_strategy(host: str, tmp_path: Any, until: Any) -> int:
    from tradewire.bus.local import LocalBus, LocalHub
    from tradewire.engine.loading import StrategyConfig, load_strategy
    from tradewire.live.gateway import Gateway
    from tradewire.live.worker import WorkerNode

    root = __import__("pathlib").Path(__file__).parents[2]
    params = {"order_qty": 10, "entry_bps": 3, "cooldown_s": 60}
    strategy = load_strategy(
        StrategyConfig("examples/mean_reversion.py:MeanReversion", ["AAPL"], params, "mr"),
        base_dir=root,
    )
    seen: list[Any] = []
    on_quote = strategy.on_quote
    strategy.on_quote = lambda q: (seen.append(q), on_quote(q))  # type: ignore[method-assign]

    def settled(n: int) -> bool:  # quote n seen, and its order (if any) answered
        order = strategy.working.get("AAPL")  # type: ignore[attr-defined]
        return len(seen) == n and (order is None or not order.is_open)

    async with VenueSimulator(VenueConfig(symbols=("AAPL",))) as venue:
        venues = Venues.simulator(venue.feed_url, venue.broker_url, venue.broker.stream_url)
        risk = RiskConfig(max_order_qty=5, price_band_pct=50)  # every order denied: max_qty
        inline = host == "inline"
        node = TradingNode(
            venues,
            [strategy] if inline else [],
            risk_config=risk,
            journal_config=JournalConfig(fsync="never"),
            journal_path=tmp_path / f"{host}.twj",
        )
        hub = LocalHub()
        gateway = Gateway(node, [LocalBus(hub)], worker_timeout_s=5.0, heartbeat_s=0.2)
        worker = WorkerNode(LocalBus(hub), [strategy], name="mr", resend_s=0.1, hello_s=0.2)
        await node.start()
        try:
            if not inline:
                await gateway.start()
                await worker.start()
            await until(lambda: venue.feed.subscriber_count("Q.AAPL") == 1)
            for i in range(11):
                venue.feed.publish([_quote(i)])
                await until(lambda n=i + 1: settled(n))
            return node.counters.orders_denied
        finally:
            if not inline:
                await worker.stop()
                await gateway.stop()
            await node.stop()


async def test_the_sample_strategy_is_denied_as_often_as_a_worker_as_inline(tmp_path, until):
    inline = await _denials_of_the_sample_strategy("inline", tmp_path, until)
    worker = await _denials_of_the_sample_strategy("worker", tmp_path, until)

    # 10 entry signals: the first denial pauses the symbol for cooldown_s in both hosts
    assert inline == 1
    assert worker == inline
