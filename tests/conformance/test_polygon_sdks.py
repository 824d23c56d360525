"""The official Polygon SDKs, massive and polygon-api-client, against our feed simulator.

Both get only the host changed (``feed="127.0.0.1:PORT"``, ``secure=False``); the same cases
run for each, so the simulator is proven against the current and the legacy client.
"""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any

import massive
import massive.exceptions
import massive.websocket.models
import polygon
import polygon.exceptions
import polygon.websocket.models
import pytest

from tradewire.sim.feed.server import PolygonFeedServer

SDKS = pytest.mark.parametrize("sdk", [massive, polygon], ids=["massive", "polygon-api-client"])

EVENTS = [
    {
        "ev": "Q",
        "sym": "AAPL",
        "bx": 11,
        "bp": 190.0,
        "bs": 2,
        "ax": 12,
        "ap": 190.04,
        "as": 3,
        "c": 1,
        "t": 1700000000000,
        "q": 5,
        "z": 3,
    },
    {
        "ev": "T",
        "sym": "AAPL",
        "x": 4,
        "i": "12345",
        "z": 3,
        "p": 190.01,
        "s": 100,
        "c": [12],
        "t": 1700000000001,
        "q": 6,
    },
    {
        "ev": "AM",
        "sym": "AAPL",
        "v": 4110,
        "av": 9470157,
        "op": 189.5,
        "vw": 190.01,
        "o": 190.0,
        "c": 190.02,
        "h": 190.05,
        "l": 189.99,
        "a": 189.9,
        "z": 685,
        "s": 1699999940000,
        "e": 1700000000000,
    },
]


@SDKS
async def test_sdk_websocket_client_with_host_changed_receives_typed_events(
    sdk: ModuleType,
) -> None:
    models = sdk.websocket.models
    received: list[Any] = []
    async with PolygonFeedServer() as feed:
        client = sdk.WebSocketClient(
            api_key="test-key",
            feed=f"127.0.0.1:{feed.port}",
            secure=False,
            market="stocks",
            subscriptions=["Q.AAPL", "T.AAPL", "AM.*"],
        )

        got_all = asyncio.Event()

        async def handler(msgs: list[Any]) -> None:
            received.extend(msgs)
            if len(received) >= 3:
                got_all.set()

        task = asyncio.create_task(client.connect(handler))
        for channel in ("Q.AAPL", "T.AAPL", "AM.*"):
            await feed.wait_for_subscribers(channel, timeout_s=10)
        feed.publish(EVENTS)
        await asyncio.wait_for(got_all.wait(), 10)
        # A clean close (1000) makes the official client's connect() return for good.
        await feed.close_all(1000)
        await asyncio.wait_for(task, 10)

    quote, trade, bar = received
    assert isinstance(quote, models.EquityQuote)
    assert (quote.symbol, quote.bid_price, quote.ask_price, quote.bid_size) == (
        "AAPL",
        190.0,
        190.04,
        2,
    )
    assert quote.timestamp == 1700000000000
    assert isinstance(trade, models.EquityTrade)
    assert (trade.symbol, trade.price, trade.size, trade.id) == ("AAPL", 190.01, 100, "12345")
    assert trade.conditions == [12]
    assert isinstance(bar, models.EquityAgg)
    assert (bar.symbol, bar.open, bar.close, bar.volume) == ("AAPL", 190.0, 190.02, 4110)
    assert bar.end_timestamp == 1700000000000


@SDKS
async def test_sdk_websocket_client_with_wrong_key_raises_its_auth_error(sdk: ModuleType) -> None:
    async with PolygonFeedServer() as feed:
        client = sdk.WebSocketClient(
            api_key="not-the-key", feed=f"127.0.0.1:{feed.port}", secure=False, market="stocks"
        )
        with pytest.raises(sdk.exceptions.AuthError, match="authentication failed"):
            await asyncio.wait_for(client.connect(lambda msgs: None), 10)
