"""A worker may act only as itself on shared memory: its name is bound to the registry
connection that joined, and a record on its ring that claims another worker's name is
refused and counted, never acted on. Real gateway, real rings, the venue simulator."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.integration.test_gateway_local import BuyOnce, gateway_node, quote

from tradewire.bus import protocol as p
from tradewire.bus.ring import RingBus
from tradewire.live.admission import MAX_SYMBOLS, REWELCOME_S
from tradewire.live.gateway import Gateway
from tradewire.live.worker import WorkerNode
from tradewire.sim.venue import VenueConfig, VenueSimulator

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def venue() -> AsyncIterator[VenueSimulator]:
    async with VenueSimulator(VenueConfig(symbols=("AAPL", "MSFT"))) as v:
        yield v


async def test_an_evil_worker_cannot_order_cancel_or_say_hello_as_its_victim(
    venue: Any, tmp_path: Any, until: Any, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"i{uuid.uuid4().hex[:10]}"
    node = gateway_node(venue, tmp_path)
    gateway = Gateway(node, [RingBus(name, role="gateway")], worker_timeout_s=5, heartbeat_s=0.2)
    await node.start()
    await gateway.start()
    strategy = BuyOnce(symbols=["AAPL"])
    victim = WorkerNode(
        RingBus(name, role="worker", worker="victim"), [strategy], name="victim", hello_s=0.2
    )
    evil = RingBus(name, role="worker", worker="evil")
    try:
        await victim.start()
        await until(lambda: venue.feed.subscriber_count("Q.AAPL") == 1)
        venue.feed.publish([quote("AAPL", 99.99, 100.01)])
        await until(lambda: len(strategy.orders) == 2 and strategy.orders[1].status == "new")
        resting = strategy.orders[1].client_order_id
        instance = gateway.workers["victim"].instance
        book = venue.broker.book.orders_by_client_id

        await evil.start()
        caplog.clear()
        refused = gateway.refused
        evil.publish(p.hello_subject("evil"), p.encode(p.Hello("evil", "e1", ["AAPL"])))  # fine
        for cid in ("evil-as-victim-1", "evil-as-victim-2"):
            intent = p.Intent("victim", cid, "AAPL", "buy", 1.0, "limit", 90.0)
            evil.publish(p.intent_subject("victim"), p.encode(intent))
            evil.publish(p.intent_subject("evil"), p.encode(intent))
        for subject in (p.intent_subject("victim"), p.intent_subject("evil")):
            evil.publish(subject, p.encode(p.CancelIntent("victim", resting)))
        evil.publish(p.hello_subject("victim"), p.encode(p.Hello("victim", "e2", ["AAPL"])))
        evil.publish(p.hello_subject("victim"), p.encode(p.Bye("victim", instance)))
        for i in range(200):  # new names, each would be a worker (and a warning) of its own
            ghost = f"ghost{i}"
            evil.publish(p.hello_subject(ghost), p.encode(p.Hello(ghost, "e3", ["MSFT"])))
        # then an order of its own, which must go through: everything before it was handled
        evil.publish(
            p.intent_subject("evil"),
            p.encode(p.Intent("evil", "evil-own", "AAPL", "buy", 1.0, "limit", 90.0)),
        )
        await until(lambda: "evil-own" in book)

        assert gateway.refused - refused == 4 + 2 + 2 + 200
        assert "evil-as-victim-1" not in book
        assert "evil-as-victim-2" not in book
        assert book[resting].status == "new"
        assert sorted(gateway.workers) == ["evil", "victim"]
        assert gateway.workers["victim"].instance == instance
        assert gateway.workers["victim"].alive
        assert node.oms.get("evil-own").strategy == "worker:evil"
        lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert 1 <= len(lines) <= 4, lines  # one per kind of claim (hello, bye, intent, cancel)
        assert all("evil" in line for line in lines)
    finally:
        await evil.close()
        await victim.stop()
        await gateway.stop()
        await node.stop()


async def test_a_hello_is_bounded_in_symbols_and_restarts_are_rewelcomed_once_a_second(
    venue: Any, tmp_path: Any, until: Any, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"i{uuid.uuid4().hex[:10]}"
    node = gateway_node(venue, tmp_path)
    gateway = Gateway(node, [RingBus(name, role="gateway")], worker_timeout_s=5, heartbeat_s=0.2)
    await node.start()
    await gateway.start()
    evil = RingBus(name, role="worker", worker="evil", capacity=1024)
    welcomes: list[float] = []

    def on_update(subject: str, payload: bytes) -> None:
        if isinstance(p.decode(payload), p.Welcome):
            welcomes.append(time.monotonic())

    evil.subscribe(p.update_subject("evil"), on_update)

    def hello(instance: str, symbols: list[str]) -> None:
        evil.publish(p.hello_subject("evil"), p.encode(p.Hello("evil", instance, symbols)))

    try:
        await evil.start()
        caplog.clear()
        many = [f"S{i}" for i in range(MAX_SYMBOLS + 1)]
        for _ in range(3):
            hello("big", many)
        await until(lambda: gateway.admission.too_many_symbols == 3)
        assert "evil" not in gateway.workers
        assert venue.feed.subscriber_count("Q.S0") == 0

        hello("i0", ["AAPL"])  # welcomed: its first
        await until(lambda: len(welcomes) == 1)
        for i in range(1, 51):  # a new instance each time: a welcome (and a line) per hello
            hello(f"i{i}", ["AAPL"])
        await until(lambda: gateway.admission.rewelcomes_held == 50)
        assert gateway.workers["evil"].instance == "i0"
        await until(lambda: time.monotonic() - welcomes[0] > REWELCOME_S)
        hello("later", ["AAPL"])  # a real restart: welcomed once the second is over
        await until(lambda: len(welcomes) == 2)
        assert gateway.workers["evil"].instance == "later"
        lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(lines) == 2, lines  # one for the symbols, one for the held welcomes
        assert "1001 symbols" in lines[0]
    finally:
        await evil.close()
        await gateway.stop()
        await node.stop()
