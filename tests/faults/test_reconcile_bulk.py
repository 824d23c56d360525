"""Reconciliation at order rates (findings 8 and 9): bulk queries, a stop that finishes first.

A real :class:`TradingNode` against the venue simulator; outcomes are made while the engine
cannot hear them (trade_updates dropped and blocked through ``/_sim/stream``, or every
request failing through ``/_sim/faults``), and then the engine's orders and positions are
compared with what the broker says over its REST API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tradewire import Strategy
from tradewire.engine import orders as o
from tradewire.engine.config import JournalConfig, RiskConfig
from tradewire.live.node import TradingNode, Venues
from tradewire.sim.venue import VenueConfig, VenueSimulator

AUTH = {"APCA-API-KEY-ID": "test-key", "APCA-API-SECRET-KEY": "test-secret"}
LOOSE = RiskConfig(
    max_order_qty=10_000,
    max_order_notional=10_000_000,
    max_position_qty=1_000_000,
    max_gross_exposure=1e12,
    max_open_orders=1_000,
    max_orders_per_second=10_000,
    price_band_pct=50,
)


class Hands(Strategy):
    """A strategy the test drives by hand: it only does what the test calls."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(symbols=["AAPL"], **kw)
        self.updates: list[str] = []

    def on_order_update(self, update: Any) -> None:
        self.updates.append(update.event)


def quote(bid: float, ask: float) -> dict[str, Any]:
    return {
        "ev": "Q",
        "sym": "AAPL",
        "bp": bid,
        "bs": 1,
        "ap": ask,
        "as": 1,
        "t": 1,
        "bx": 1,
        "ax": 1,
    }


async def rest(http: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> Any:
    async with http.request(method, path, json=body) as resp:
        text = await resp.text()
        assert resp.status < 300, f"{method} {path}: {resp.status} {text}"
        return json.loads(text) if text else None


async def broker_truth(http: aiohttp.ClientSession) -> tuple[dict[str, float], set[str]]:
    positions = {p["symbol"]: float(p["qty"]) for p in await rest(http, "GET", "/v2/positions")}
    opened = await rest(http, "GET", "/v2/orders?status=open&limit=500")
    return positions, {x["client_order_id"] for x in opened}


def engine_truth(node: TradingNode) -> tuple[dict[str, float], set[str]]:
    positions = {s: p.qty for s, p in node.book.positions.items() if p.qty}
    return positions, {c for c, x in node.oms.orders.items() if x.is_open}


def make_node(venue: VenueSimulator, tmp_path: Path, hands: Hands, **kw: Any) -> TradingNode:
    kw.setdefault("reconcile_interval_s", 60.0)  # only what the test asks for reconciles
    kw.setdefault("journal_config", JournalConfig(fsync="never"))
    return TradingNode(
        Venues.simulator(venue.feed_url, venue.broker_url, venue.broker.stream_url),
        [hands],
        risk_config=LOOSE,
        journal_path=tmp_path / "journal.twj",
        **kw,
    )


@pytest.fixture
async def venue():
    async with VenueSimulator(VenueConfig(symbols=("AAPL",))) as sim:
        sim.feed.publish([quote(149.99, 150.00)])
        yield sim


@pytest.fixture
async def http(venue):
    async with aiohttp.ClientSession(
        base_url=venue.broker_url, headers=AUTH, timeout=aiohttp.ClientTimeout(total=10)
    ) as session:
        yield session


# -- finding 8: 200 outcomes missed on the stream; one stop; the engine equals the broker --------


@pytest.mark.parametrize("cancel_on_stop", [True, False])
async def test_a_stop_after_a_stream_outage_reports_the_brokers_truth(
    venue, http, tmp_path, until, cancel_on_stop
):
    # Arrange: 200 resting buys, every one acknowledged `new` on the stream
    from tradewire.venues.alpaca.config import AlpacaBrokerConfig

    hands = Hands()
    # 100-200 orders/s, as in the finding: the simulator has no rate limit here, nor the client
    unlimited = AlpacaBrokerConfig(rate_limit_per_minute=1_000_000)
    node = make_node(venue, tmp_path, hands, broker_config=unlimited)
    await node.start()
    venue.feed.publish([quote(149.99, 150.00)])
    await until(lambda: "AAPL" in node.mids)
    for i in range(200):
        hands.buy("AAPL", 1 + i % 3, limit_price=140.00 if i % 2 else 130.00)
    await until(lambda: hands.updates.count("new") == 200, timeout_s=20)

    # Act: the stream goes down for longer than the test; the market trades through half the
    # limits and 60 of the rest are cancelled at the broker (another tool, the dashboard)
    await rest(http, "POST", "/_sim/stream", {"drop": True, "block_s": 600})
    venue.feed.publish([quote(138.99, 139.00)])
    await until(lambda: len(venue.broker.book.fills) >= 100, timeout_s=10)
    resting = await rest(http, "GET", "/v2/orders?status=open&limit=500")
    for order in resting[:60]:
        await rest(http, "DELETE", f"/v2/orders/{order['id']}")
    seen = len(venue.broker.requests_seen)
    await asyncio.wait_for(node.stop(cancel_open_orders=cancel_on_stop), 30)

    # Assert: what the engine reports at exit is the broker's truth, in a handful of requests
    assert engine_truth(node) == await broker_truth(http)
    assert node.reconciler.unverified == 0
    reads = [r for r in venue.broker.requests_seen[seen:] if r[0] == "GET"]
    assert len(reads) < 20, reads


# -- finding 9: unknown orders under a continuous rate limit end within a bound -----------------


@pytest.mark.one_loop  # seconds of real 429 backoff: the engine's loop (uvloop) is enough
async def test_unknown_orders_under_continuous_429_are_abandoned_within_a_bound(tmp_path, until):
    from tradewire import AlpacaClient
    from tradewire.venues.alpaca.config import AlpacaBrokerConfig

    async with (
        VenueSimulator(VenueConfig(symbols=("AAPL",))) as venue,
        aiohttp.ClientSession(base_url=venue.broker_url, headers=AUTH) as http,
    ):
        venue.feed.publish([quote(149.99, 150.00)])
        hands = Hands()
        fast = AlpacaBrokerConfig(request_timeout_s=0.3, resolve_backoff_s=0.02, resolve_attempts=2)
        broker = AlpacaClient("test-key", "test-secret", base_url=venue.broker_url, config=fast)
        node = make_node(
            venue,
            tmp_path,
            hands,
            broker=broker,
            journal_config=JournalConfig(fsync="never", abandon_intents_older_than_s=0.5),
            reconcile_interval_s=0.2,
        )
        await node.start()
        venue.feed.publish([quote(149.99, 150.00)])
        await until(lambda: "AAPL" in node.mids)

        # Arrange: 20 orders whose submission failed with no answer (every request a 503)
        venue.broker.faults.update({"error_5xx_rate": 1, "error_status": 503})
        handles = [hands.buy("AAPL", 1, limit_price=150.00) for _ in range(20)]
        unknown = o.OrderStatus.UNKNOWN
        await until(
            lambda: all(node.oms.orders[h.client_order_id].status is unknown for h in handles),
            timeout_s=15,
        )
        await until(lambda: not node._settling, timeout_s=15)
        venue.broker.faults.update({"error_5xx_rate": 0})

        # Act: a rate limit of 2 requests/s (an empty bucket), and another process on the same
        # key takes about one a second of them
        venue.broker.set_rate_limit(120, tokens=0)

        async def neighbour() -> None:
            while True:
                async with http.get("/v2/clock") as resp:
                    await resp.read()
                await asyncio.sleep(1.0)

        hog = asyncio.ensure_future(neighbour())
        try:
            # Assert: every one is abandoned (the broker has no record of any) within 10 s
            await until(
                lambda: all(
                    node.oms.orders[h.client_order_id].status is o.OrderStatus.ABANDONED
                    for h in handles
                ),
                timeout_s=10,
            )
            assert node.oms.open_count == 0
        finally:
            hog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await hog
            await asyncio.wait_for(node.stop(), 30)
