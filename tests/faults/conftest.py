"""Fault-injection tests: real client, real broker simulator, faults switched on per test."""

from __future__ import annotations

import asyncio

import pytest

from tradewire import AlpacaClient
from tradewire.sim.broker.server import AlpacaBrokerServer
from tradewire.sim.market import NBBO
from tradewire.venues.alpaca.config import AlpacaBrokerConfig

FAST = AlpacaBrokerConfig(request_timeout_s=0.3, resolve_backoff_s=0.02, resolve_attempts=8)


@pytest.fixture
async def broker():
    async with AlpacaBrokerServer() as server:
        server.market.publish_quote(NBBO("AAPL", 149.99, 100, 150.00, 100, 1))
        yield server


@pytest.fixture
async def client(broker):
    c = AlpacaClient("test-key", "test-secret", base_url=broker.base_url, config=FAST)
    await c.connect()
    yield c
    await c.close()


@pytest.fixture
def place_batch():
    return _place_batch


@pytest.fixture
def assert_exactly_once():
    return _assert_exactly_once


async def _place_batch(client: AlpacaClient, prefix: str, n: int) -> list[object]:
    """Send n orders concurrently; return each result or exception, in order."""
    return await asyncio.gather(
        *(
            client.place_order("AAPL", 1, "buy", "limit", 100.00, client_order_id=f"{prefix}-{i}")
            for i in range(n)
        ),
        return_exceptions=True,
    )


def _assert_exactly_once(broker: AlpacaBrokerServer, prefix: str, n: int) -> None:
    ids = [cid for cid in broker.book.orders_by_client_id if cid.startswith(prefix + "-")]
    assert sorted(ids) == sorted(f"{prefix}-{i}" for i in range(n)), "an order was lost"
    posts = [o for o in broker.book.orders.values() if o.client_order_id.startswith(prefix + "-")]
    assert len(posts) == n, "an order was duplicated"
