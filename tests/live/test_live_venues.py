"""Against the real services, with keys from the environment; skipped without them.

Read-only on purpose: these tests never place an order.
"""

from __future__ import annotations

import os

import pytest

from tradewire import AlpacaClient, PolygonClient, Quote
from tradewire.venues.polygon.config import PolygonFeedConfig

pytestmark = pytest.mark.live

POLYGON_KEY = os.environ.get("POLYGON_API_KEY") or os.environ.get("MASSIVE_API_KEY")
ALPACA_KEY = os.environ.get("ALPACA_API_KEY")
ALPACA_SECRET = os.environ.get("ALPACA_API_SECRET")


@pytest.mark.skipif(
    not (ALPACA_KEY and ALPACA_SECRET), reason="ALPACA_API_KEY/ALPACA_API_SECRET not set"
)
async def test_alpaca_paper_account_clock_and_orders_are_typed():
    async with AlpacaClient(ALPACA_KEY, ALPACA_SECRET) as client:  # paper host by default
        account = await client.get_account()
        assert account.status
        assert (await client.get_clock()).next_open
        assert isinstance(await client.list_orders(status="all", limit=5), list)


@pytest.mark.skipif(not POLYGON_KEY, reason="POLYGON_API_KEY not set")
async def test_polygon_delayed_feed_authenticates_and_subscribes():
    client = PolygonClient(POLYGON_KEY, config=PolygonFeedConfig(feed="delayed", stale_after_s=0))
    got: list[Quote] = []
    await client.subscribe_trades(["SPY"], got.append)  # auth failure would raise AuthError here
    assert client.is_authenticated
    await client.close()
