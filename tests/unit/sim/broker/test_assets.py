"""The simulator's broker lists its configured symbols as assets and refuses the rest."""

from __future__ import annotations

import aiohttp

from tradewire.sim.venue import VenueConfig, VenueSimulator

AUTH = {"APCA-API-KEY-ID": "test-key", "APCA-API-SECRET-KEY": "test-secret"}


async def test_configured_symbols_are_assets_before_any_quote_and_others_are_refused():
    # Before: a market order for ZZZZ was accepted, and GET /v2/assets/ZZZZ answered an asset.
    venue = VenueSimulator(VenueConfig(symbols=("AAPL", "MSFT")))
    await venue.start()  # no market source: no quote ever arrives
    try:
        async with aiohttp.ClientSession(base_url=venue.broker_url, headers=AUTH) as http:
            async with http.get("/v2/assets") as resp:
                assert [a["symbol"] for a in await resp.json()] == ["AAPL", "MSFT"]
            order = {"qty": "1", "side": "buy", "type": "limit", "limit_price": "10"}
            order["time_in_force"] = "day"
            async with http.post("/v2/orders", json={**order, "symbol": "ZZZZ"}) as resp:
                body = await resp.json()
                assert (resp.status, body["code"]) == (422, 40010001), body
                assert body["message"] == 'asset "ZZZZ" not found'
            async with http.get("/v2/assets/ZZZZ") as resp:
                assert (resp.status, (await resp.json())["code"]) == (404, 40410000)
            async with http.post("/v2/orders", json={**order, "symbol": "msft"}) as resp:
                assert resp.status == 200
                assert (await resp.json())["symbol"] == "MSFT"
        assert [o.symbol for o in venue.broker.book.orders.values()] == ["MSFT"]
    finally:
        await venue.stop()
