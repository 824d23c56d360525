"""``GET /v2/orders`` of the simulator answers the list parameters as Alpaca documents them.

reference/alpaca.md: ``status`` open (default) / closed / all; ``limit`` default 50, at most
500; ``after`` / ``until`` exclusive bounds on submission time; ``direction`` asc / desc
(default). Reconciliation pages history by ``after`` with these, so they must hold here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tradewire.sim.broker.server import AlpacaBrokerServer

AUTH = {"APCA-API-KEY-ID": "test-key", "APCA-API-SECRET-KEY": "test-secret"}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with (
        AlpacaBrokerServer() as server,
        aiohttp.ClientSession(base_url=server.base_url, headers=AUTH) as session,
    ):
        server.market.listed.add("AAPL")  # an asset, though no quote came yet
        for i in range(5):
            body = {
                "symbol": "AAPL",
                "qty": "1",
                "side": "buy",
                "type": "limit",
                "limit_price": "100",
                "time_in_force": "day",
                "client_order_id": f"c{i}",
            }
            async with session.post("/v2/orders", json=body) as resp:
                assert resp.status == 200, await resp.text()
        yield session


async def get(http: aiohttp.ClientSession, query: str) -> tuple[int, Any]:
    async with http.get(f"/v2/orders?{query}") as resp:
        return resp.status, await resp.json()


async def test_after_is_exclusive_on_submission_time_and_direction_asc_pages_forward(http):
    status, everything = await get(http, "status=all&direction=asc&limit=500")
    assert status == 200
    assert [o["client_order_id"] for o in everything] == ["c0", "c1", "c2", "c3", "c4"]

    status, page = await get(
        http, f"status=all&direction=asc&limit=2&after={everything[1]['submitted_at']}"
    )
    assert [o["client_order_id"] for o in page] == ["c2", "c3"]

    status, page = await get(http, f"status=all&limit=2&until={everything[3]['submitted_at']}")
    assert [o["client_order_id"] for o in page] == ["c2", "c1"]  # desc by default


@pytest.mark.parametrize(
    "query", ["status=bogus", "direction=sideways", "limit=abc", "limit=0", "after=yesterday"]
)
async def test_a_bad_list_parameter_is_a_422_not_a_crash(http, query):
    status, body = await get(http, query)
    assert status == 422, body
    assert body["code"] == 40010001
