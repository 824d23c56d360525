"""Gateway and workers in one process over the in-process bus, against the venue simulator:
the protocol's semantics, quickly. The same flows over real transports and processes are in
tests/integration/test_gateway_processes.py."""

from __future__ import annotations

from typing import Any

import pytest

from tradewire import Strategy
from tradewire.bus import protocol as p
from tradewire.bus.local import LocalBus, LocalHub
from tradewire.engine.config import JournalConfig, RiskConfig
from tradewire.live.gateway import Gateway
from tradewire.live.node import TradingNode, Venues
from tradewire.live.worker import WorkerNode
from tradewire.sim.venue import VenueConfig, VenueSimulator

pytestmark = pytest.mark.timeout(60)


def quote(sym: str, bid: float, ask: float) -> dict[str, Any]:
    return {"ev": "Q", "sym": sym, "bp": bid, "bs": 1, "ap": ask, "as": 1, "t": 1}


class BuyOnce(Strategy):
    """Buys 10 at the ask on the first quote, and rests a far bid; records its updates."""

    def on_start(self) -> None:
        self.updates: list[str] = []
        self.orders: list[Any] = []

    def on_quote(self, q: Any) -> None:
        if not self.orders:
            self.orders.append(self.buy(q.symbol, 10, limit_price=q.ask_price))
            self.orders.append(self.buy(q.symbol, 5, limit_price=round(q.bid_price * 0.97, 2)))

    def on_order_update(self, update: Any) -> None:
        self.updates.append(update.event)


@pytest.fixture
async def venue():
    async with VenueSimulator(VenueConfig(symbols=("AAPL", "MSFT"))) as v:
        yield v


def gateway_node(venue: Any, tmp_path: Any) -> TradingNode:
    venues = Venues.simulator(venue.feed_url, venue.broker_url, venue.broker.stream_url)
    return TradingNode(
        venues,
        [],
        risk_config=RiskConfig(price_band_pct=50),
        journal_config=JournalConfig(fsync="never"),
        journal_path=tmp_path / "gw.twj",
    )


async def test_a_worker_trades_through_the_gateway_and_gets_its_fills(venue, tmp_path, until):
    hub = LocalHub()
    node = gateway_node(venue, tmp_path)
    gateway = Gateway(node, [LocalBus(hub)], worker_timeout_s=1.0, heartbeat_s=0.2)
    await node.start()
    await gateway.start()
    strategy = BuyOnce(symbols=["AAPL"])
    worker = WorkerNode(LocalBus(hub), [strategy], name="alpha", resend_s=0.1, hello_s=0.2)
    try:
        await worker.start()
        await until(lambda: venue.feed.subscriber_count("Q.AAPL") == 1)  # subscribed on demand
        venue.feed.publish([quote("AAPL", 99.99, 100.01)])
        await until(lambda: strategy.orders and strategy.orders[0].status == "filled")

        # the gateway's book holds the worker's fill; the worker sees the account's position
        assert node.book.qty("AAPL") == 10
        await until(lambda: worker.core.position("AAPL").qty == 10)
        assert "fill" in strategy.updates
        assert worker.stats.md_gaps == 0
        resting = strategy.orders[1]
        assert resting.is_open

        # a resent intent (same client_order_id) is answered, never sent twice
        sent = venue.broker.book.orders_by_client_id
        before = len(sent)
        intent = p.Intent(
            "alpha", strategy.orders[0].client_order_id, "AAPL", "buy", 10.0, "limit", 100.01
        )
        LocalBus(hub).publish(p.intent_subject("alpha"), p.encode(intent))
        await until(lambda: gateway.duplicates >= 1)
        assert len(sent) == before
        assert gateway.workers["alpha"].intents == 2
        # the worker's own counters reach the gateway's panel, summary and metrics
        await until(lambda: node.snapshot().workers["alpha"]["events"] >= 1)
        row = node.snapshot().workers["alpha"]
        assert row["alive"]
        assert row["intents"] == 2
        assert row["gaps"] == 0
        from tradewire.app.panel import summary
        from tradewire.metrics.exporter import RecorderCollector

        assert "worker alpha up" in summary(node.snapshot())
        names = {m.name for m in RecorderCollector(node.recorder).collect()}
        assert {"tradewire_worker_events", "tradewire_worker_up"} <= names

        # the kill switch halts the worker at once
        gateway.halt("test")
        await until(lambda: worker.halted == "test")
        denied = strategy.buy("AAPL", 1, limit_price=100.0)
        assert denied.denied is not None
    finally:
        await worker.stop()
        await gateway.stop()
        await node.stop()


async def test_a_worker_that_dies_has_its_orders_cancelled_and_gets_its_state_back(
    venue, tmp_path, until
):
    hub = LocalHub()
    node = gateway_node(venue, tmp_path)
    gateway = Gateway(node, [LocalBus(hub)], worker_timeout_s=0.6, heartbeat_s=0.1)
    await node.start()
    await gateway.start()
    first = BuyOnce(symbols=["AAPL"])
    worker = WorkerNode(LocalBus(hub), [first], name="beta", resend_s=0.1, hello_s=0.1)
    try:
        await worker.start()
        await until(lambda: venue.feed.subscriber_count("Q.AAPL") == 1)
        venue.feed.publish([quote("AAPL", 99.99, 100.01)])
        await until(lambda: len(first.orders) == 2 and first.orders[0].status == "filled")
        resting = first.orders[1].client_order_id
        await until(lambda: first.orders[1].status == "new")

        # Act: the worker goes silent (no bye): after the timeout its order is cancelled
        for timer in worker._timers:
            timer.cancel()
        await worker.bus.close()
        await until(lambda: venue.broker.book.orders_by_client_id[resting].status == "canceled")
        assert node.book.qty("AAPL") == 10  # its position stays in the account

        # The same worker name comes back: it gets the account's position for its symbols
        again = WorkerNode(LocalBus(hub), [BuyOnce(symbols=["AAPL"])], name="beta", hello_s=0.1)
        await again.start()
        assert again.core.position("AAPL").qty == 10
        await again.stop()
    finally:
        await gateway.stop()
        await node.stop()


async def test_the_gateway_remembers_few_answers_and_asks_the_ledger_for_older_ones(
    venue, tmp_path, until, monkeypatch
):
    """Answers to intents are kept per worker up to ACK_MEMORY (memory stays bounded on a
    long day); an older resend is answered from the ledger, never sent a second time."""
    import tradewire.live.gateway as gw

    monkeypatch.setattr(gw, "ACK_MEMORY", 2)
    hub = LocalHub()
    node = gateway_node(venue, tmp_path)
    gateway = Gateway(node, [LocalBus(hub)], worker_timeout_s=1.0, heartbeat_s=0.2)
    await node.start()
    await gateway.start()
    worker = WorkerNode(LocalBus(hub), [BuyOnce(symbols=["AAPL"])], name="alpha", hello_s=0.2)
    raw = LocalBus(hub)
    try:
        await worker.start()
        await until(lambda: venue.feed.subscriber_count("Q.AAPL") == 1)
        venue.feed.publish([quote("AAPL", 99.99, 100.01)])
        await until(lambda: len(venue.broker.book.orders_by_client_id) == 2)
        cids = [f"raw-{i}" for i in range(4)]
        for cid in cids:
            intent = p.Intent("alpha", cid, "AAPL", "buy", 1.0, "limit", 97.0)
            raw.publish(p.intent_subject("alpha"), p.encode(intent))
        await until(lambda: len(venue.broker.book.orders_by_client_id) == 6)
        link = gateway.workers["alpha"]
        assert list(link.acks) == cids[-2:]  # the most recent answers only
        before = gateway.duplicates
        for cid in (cids[0], cids[3]):  # one forgotten, one remembered
            intent = p.Intent("alpha", cid, "AAPL", "buy", 1.0, "limit", 97.0)
            raw.publish(p.intent_subject("alpha"), p.encode(intent))
        await until(lambda: gateway.duplicates == before + 2)
        assert len(venue.broker.book.orders_by_client_id) == 6
        assert link.intents == 2 + 4
        assert len(link.acks) <= 2
        # Another worker cannot book under alpha's id (it would overwrite alpha's record).
        other = WorkerNode(LocalBus(hub), [BuyOnce(symbols=["MSFT"])], name="beta", hello_s=0.2)
        await other.start()
        refused = gateway.refused
        intent = p.Intent("beta", cids[1], "MSFT", "buy", 1.0, "limit", 97.0)
        raw.publish(p.intent_subject("beta"), p.encode(intent))
        await until(lambda: gateway.refused == refused + 1)
        assert len(venue.broker.book.orders_by_client_id) == 6
        assert node.oms.get(cids[1]).symbol == "AAPL"
        assert gateway.workers["beta"].intents == 0
        await other.stop()
    finally:
        await worker.stop()
        await gateway.stop()
        await node.stop()


async def test_the_gateway_takes_the_worker_from_the_subject_not_the_payload(
    venue, tmp_path, until
):
    """Finding 4: one worker spoke for another by naming it in the payload (a cancel of the
    victim's order sent on the attacker's own subject was obeyed). Every worker subject now
    carries the worker's name, which NATS permissions tie to the worker's user; a payload
    naming anyone else is refused."""
    hub = LocalHub()
    node = gateway_node(venue, tmp_path)
    gateway = Gateway(node, [LocalBus(hub)], worker_timeout_s=1.0, heartbeat_s=0.2)
    await node.start()
    await gateway.start()
    victim = BuyOnce(symbols=["AAPL"])
    worker = WorkerNode(LocalBus(hub), [victim], name="victim", hello_s=0.2)
    evil = LocalBus(hub)
    try:
        await worker.start()
        await until(lambda: venue.feed.subscriber_count("Q.AAPL") == 1)
        venue.feed.publish([quote("AAPL", 99.99, 100.01)])
        await until(lambda: len(victim.orders) == 2 and victim.orders[1].status == "new")
        resting = victim.orders[1]
        link = gateway.workers["victim"]
        refused = gateway.refused
        evil.publish(
            p.intent_subject("evil"), p.encode(p.CancelIntent("victim", resting.client_order_id))
        )
        spoof = p.Intent("victim", "evil-1", "AAPL", "sell", 10.0, "limit", 99.0)
        evil.publish(p.intent_subject("evil"), p.encode(spoof))
        evil.publish(p.hello_subject("evil"), p.encode(p.Bye("victim", link.instance)))
        evil.publish(p.hello_subject("evil"), p.encode(p.Hello("victim", "x", ["MSFT"])))
        await until(lambda: gateway.refused == refused + 4)
        assert link.alive
        assert link.instance != "x"
        assert link.symbols == ["AAPL"]
        assert resting.is_open
        assert node.oms.get("evil-1") is None
        assert "evil" not in gateway.workers
    finally:
        await worker.stop()
        await gateway.stop()
        await node.stop()


class LossyBus(LocalBus):
    """The gateway's side of the bus, losing order updates (as a NATS restart can): the
    ones numbered in ``lose``, or every one while ``losing`` is set."""

    def __init__(self, hub: LocalHub, lose: set[int]) -> None:
        super().__init__(hub)
        self.lose, self.lost, self.losing = lose, 0, False

    def publish(self, subject: str, payload: bytes) -> None:
        msg = p.decode(payload) if subject.startswith("tw.upd.") else None
        if isinstance(msg, p.Update) and (self.losing or msg.seq in self.lose):
            self.lose.discard(msg.seq)
            self.lost += 1
            return
        super().publish(subject, payload)


class ManyBids(Strategy):
    """Sends a marketable buy on each of the first five quotes; counts every fill it hears."""

    def on_start(self) -> None:
        self.orders: list[Any] = []
        self.fills = 0

    def on_quote(self, q: Any) -> None:
        if len(self.orders) < 5:
            self.orders.append(self.buy(q.symbol, 1, limit_price=round(q.ask_price + 1, 2)))

    def on_order_update(self, update: Any) -> None:
        if update.event == "fill":
            self.fills += 1


@pytest.mark.parametrize("trailing", [False, True], ids=["one-in-the-middle", "the-last-ones"])
async def test_lost_order_updates_are_replayed_in_order_and_never_twice(
    venue, tmp_path, until, trailing
):
    """An update lost on the way (in the middle, or the last ones, with nothing after them
    to reveal the gap) reaches the strategy anyway, in order, exactly once: the worker's
    hello says how far it got and the gateway resends the rest."""
    hub = LocalHub()
    node = gateway_node(venue, tmp_path)
    lossy = LossyBus(hub, set() if trailing else {2})
    gateway = Gateway(node, [lossy], worker_timeout_s=5.0, heartbeat_s=0.2)
    await node.start()
    await gateway.start()
    strategy = ManyBids(symbols=["AAPL"])
    worker = WorkerNode(LocalBus(hub), [strategy], name="gamma", resend_s=0.1, hello_s=0.2)
    seen: list[int] = []
    apply = worker._apply
    worker._apply = lambda msg: (seen.append(msg.seq), apply(msg))[1]  # type: ignore[method-assign]
    try:
        await worker.start()
        await until(lambda: venue.feed.subscriber_count("Q.AAPL") == 1)
        for i in range(5):
            if trailing and i == 4:  # every update of the last order is lost
                await until(lambda: strategy.fills == 4)
                lossy.losing = True
            venue.feed.publish([quote("AAPL", 99.99 + i / 100, 100.01 + i / 100)])
            await until(lambda i=i: len(strategy.orders) == i + 1)
        if trailing:
            last_cid = strategy.orders[4].client_order_id
            await until(lambda: node.oms.get(last_cid).status.value == "filled")
            assert strategy.orders[4].status != "filled"  # the worker has not heard
            lossy.losing = False
        await until(lambda: all(o.status == "filled" for o in strategy.orders))
        await until(lambda: strategy.fills == 5, timeout_s=10)
        assert lossy.lost >= 1
        last = gateway.workers["gamma"].update_seq
        await until(lambda: worker.update_seq == last)
        applied = [s for s in seen if s <= last]
        assert sorted(set(applied)) == list(range(1, last + 1))  # every update reached it
        assert strategy.fills == 5  # and none twice
        assert gateway.workers["gamma"].replayed >= lossy.lost
        # A gap seen in the middle is counted once; lost last ones reveal no gap at all.
        assert worker.stats.update_gaps == (0 if trailing else 1)
    finally:
        await worker.stop()
        await gateway.stop()
        await node.stop()


async def test_a_frame_too_big_for_a_bus_is_dropped_and_counted_not_a_feed_reconnect(
    venue, tmp_path, until
):
    """A burst frame larger than a transport's limit must cost the workers one numbered
    frame (a gap they see), never the gateway's Polygon connection."""
    import uuid

    from tradewire.bus.ring import RingBus

    name = f"t{uuid.uuid4().hex[:10]}"
    node = gateway_node(venue, tmp_path)
    gateway = Gateway(node, [RingBus(name, role="gateway", max_payload=2048)], worker_timeout_s=5.0)
    await node.start()
    await gateway.start()
    strategy = BuyOnce(symbols=["AAPL"])
    worker = WorkerNode(
        RingBus(name, role="worker", worker="delta", max_payload=2048),
        [strategy],
        name="delta",
        hello_s=0.2,
    )
    try:
        await worker.start()
        await until(lambda: venue.feed.subscriber_count("Q.AAPL") == 1)
        venue.feed.publish([quote("AAPL", 99.0 + i / 100, 101.0) for i in range(60)])
        venue.feed.publish([quote("AAPL", 99.99, 100.01)])
        await until(lambda: worker.stats.frames >= 1 and gateway.oversize == 1)
        assert worker.stats.md_gaps == 1  # the numbered frame it never got
        assert node.feed.reconnects == 0
    finally:
        await worker.stop()
        await gateway.stop()
        await node.stop()
