"""alpaca-py reads the simulator's account activities (activity_type FILL) with its own models.

alpaca-py's TradingClient has no activities call, so the request goes through its own REST
layer (``TradingClient.get``: auth headers, base URL, error handling) and each item is parsed
by :class:`alpaca.trading.models.TradeActivity`, the model alpaca-py's BrokerClient uses for
the same endpoint. That model is shared with the Broker API, whose items also carry the
account's ``account_id``; the Trading API's do not, so it is taken from ``GET /v2/account``.
Its ``side`` is :class:`OrderSide` (buy/sell), so only long trading is checked here: Alpaca's
``sell_short`` side is covered by tests/integration/test_sim_admin.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import (
    ActivityType,
    OrderSide,
    OrderStatus,
    TimeInForce,
    TradeActivityType,
)
from alpaca.trading.models import TradeActivity
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest

from tradewire.sim.broker.server import AlpacaBrokerServer
from tradewire.sim.market import NBBO
from tradewire.venues.alpaca.messages import FILL_ACTIVITIES_DECODER

Until = Callable[..., Any]


@pytest.fixture
async def broker() -> AsyncIterator[AlpacaBrokerServer]:
    async with AlpacaBrokerServer() as server:
        server.market.publish_quote(NBBO("AAPL", 149.99, 100, 150.00, 100, 1))
        yield server


async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    # alpaca-py is blocking (requests): run it in a thread while the simulator runs here.
    async with asyncio.timeout(10):
        return await asyncio.to_thread(fn, *args, **kwargs)


async def _trade(broker: AlpacaBrokerServer, client: TradingClient, until: Until) -> list[str]:
    """Two market buys, a limit buy filled in two parts, a market sell: order ids."""
    ids = []
    for qty in (1, 2):
        order = await call(
            client.submit_order,
            MarketOrderRequest(
                symbol="AAPL", qty=qty, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
            ),
        )
        ids.append(str(order.id))
    broker.book.partial_fill_probability = 1.0
    order = await call(
        client.submit_order,
        LimitOrderRequest(
            symbol="AAPL",
            qty=10,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            limit_price=150.00,
        ),
    )
    ids.append(str(order.id))
    await until(lambda: broker.book.orders[ids[-1]].status == "partially_filled")
    broker.book.partial_fill_probability = 0.0
    broker.market.publish_quote(NBBO("AAPL", 149.98, 100, 149.99, 100, 2))
    order = await call(
        client.submit_order,
        MarketOrderRequest(
            symbol="AAPL", qty=4, side=OrderSide.SELL, time_in_force=TimeInForce.DAY
        ),
    )
    ids.append(str(order.id))
    await until(lambda: all(broker.book.orders[i].status == "filled" for i in ids))
    return ids


async def test_alpaca_py_parses_fill_activities(broker: AlpacaBrokerServer, until: Until) -> None:
    client = TradingClient("test-key", "test-secret", url_override=broker.base_url)
    ids = await _trade(broker, client, until)
    account = await call(client.get_account)

    raw = await call(client.get, "/account/activities/FILL", {"direction": "asc"})
    assert isinstance(raw, list)
    activities = [TradeActivity(account_id=account.id, **item) for item in raw]
    assert len(activities) == 5
    assert {a.activity_type for a in activities} == {ActivityType.FILL}
    assert [str(a.order_id) for a in activities] == [ids[0], ids[1], ids[2], ids[2], ids[3]]
    assert [a.type for a in activities] == [TradeActivityType.FILL] * 2 + [
        TradeActivityType.PARTIAL_FILL,
        TradeActivityType.FILL,
        TradeActivityType.FILL,
    ]
    assert [a.side for a in activities] == [OrderSide.BUY] * 4 + [OrderSide.SELL]
    assert activities[2].order_status == OrderStatus.PARTIALLY_FILLED
    assert activities[2].leaves_qty == 10 - activities[2].qty
    assert activities[3].cum_qty == 10
    assert activities[3].leaves_qty == 0
    assert activities[3].price == 149.99
    assert activities[4].price == 149.98
    times = [a.transaction_time for a in activities]
    assert times == sorted(times)
    assert all(t.tzinfo is not None for t in times)
    for a in activities:
        stamp, _, tail = a.id.partition("::")
        assert len(stamp) == 17
        assert stamp.isdigit()
        UUID(tail)

    # Our own decoder reads the same bytes to the same figures.
    ours = FILL_ACTIVITIES_DECODER.decode(json.dumps(raw).encode())
    assert [(o.id, o.qty, o.price) for o in ours] == [
        (a.id, Decimal(str(a.qty)), Decimal(str(a.price))) for a in activities
    ]

    # The generic route with activity_types, paged by alpaca-py's request layer.
    seen: list[str] = []
    token: dict[str, str] = {}
    while True:
        page = await call(
            client.get, "/account/activities", {"activity_types": "FILL", "page_size": 2, **token}
        )
        if not page:
            break
        seen.extend(TradeActivity(account_id=account.id, **item).id for item in page)
        token = {"page_token": page[-1]["id"]}
    assert seen == [a.id for a in reversed(activities)]


async def test_alpaca_py_sees_activity_errors_as_api_errors(broker: AlpacaBrokerServer) -> None:
    client = TradingClient("test-key", "test-secret", url_override=broker.base_url)
    with pytest.raises(APIError) as exc:
        await call(client.get, "/account/activities/FILL", {"direction": "sideways"})
    assert exc.value.status_code == 422
