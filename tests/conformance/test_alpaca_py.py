"""alpaca-py (the official SDK) against our broker simulator, with only url_override changed."""

from __future__ import annotations

import asyncio
import threading

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import (
    ClosePositionRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopOrderRequest,
)
from alpaca.trading.stream import TradingStream

from tradewire.sim.broker.server import AlpacaBrokerServer
from tradewire.sim.market import NBBO


@pytest.fixture
async def broker():
    async with AlpacaBrokerServer() as server:
        server.market.publish_quote(NBBO("AAPL", 149.99, 100, 150.00, 100, 1))
        yield server


def call(fn, *args, **kwargs):
    # alpaca-py is blocking (requests): run it in a thread while the simulator runs here.
    return asyncio.to_thread(fn, *args, **kwargs)


async def test_trading_client_order_lifecycle(broker, until):
    client = TradingClient("test-key", "test-secret", url_override=broker.base_url)

    market = await call(
        client.submit_order,
        MarketOrderRequest(
            symbol="AAPL",
            qty=10,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            client_order_id="sdk-1",
        ),
    )
    assert market.client_order_id == "sdk-1"
    assert market.status in (OrderStatus.ACCEPTED, OrderStatus.NEW)
    await until(lambda: broker.book.orders_by_client_id["sdk-1"].status == "filled")

    limit = await call(
        client.submit_order,
        LimitOrderRequest(
            symbol="AAPL",
            qty=5,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.GTC,
            limit_price=140.0,
        ),
    )
    stop = await call(
        client.submit_order,
        StopOrderRequest(
            symbol="AAPL",
            qty=5,
            side=OrderSide.SELL,
            time_in_force=TimeInForce.GTC,
            stop_price=130.0,
        ),
    )
    assert (await call(client.get_order_by_id, limit.id)).limit_price == "140"
    assert (await call(client.get_order_by_client_id, "sdk-1")).id == market.id
    open_orders = await call(client.get_orders, GetOrdersRequest(status=QueryOrderStatus.OPEN))
    assert {o.id for o in open_orders} == {limit.id, stop.id}

    replaced = await call(
        client.replace_order_by_id, limit.id, ReplaceOrderRequest(limit_price=141.0)
    )
    assert replaced.replaces == limit.id
    await call(client.cancel_order_by_id, replaced.id)
    cancel_all = await call(client.cancel_orders)
    assert [r.id for r in cancel_all] == [stop.id]

    account = await call(client.get_account)
    assert float(account.cash) == pytest.approx(100000 - 1500)
    (position,) = await call(client.get_all_positions)
    assert (position.symbol, position.qty) == ("AAPL", "10")
    assert (await call(client.get_open_position, "AAPL")).avg_entry_price == "150"
    assert (await call(client.get_clock)).is_open
    assert (await call(client.get_asset, "AAPL")).symbol == "AAPL"
    close = await call(client.close_position, "AAPL", ClosePositionRequest(percentage="50"))
    assert close.side == OrderSide.SELL
    await until(lambda: broker.book.positions["AAPL"].qty == 5)
    closed_all = await call(client.close_all_positions, True)
    assert [r.symbol for r in closed_all] == ["AAPL"]


@pytest.mark.parametrize(
    ("request_factory", "status", "code"),
    [
        (
            lambda: LimitOrderRequest(
                symbol="AAPL",
                qty=1,
                side=OrderSide.BUY,
                time_in_force=TimeInForce.DAY,
                limit_price=150.123,
            ),
            422,
            42210000,
        ),
        (
            lambda: MarketOrderRequest(
                symbol="AAPL", qty=100_000, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
            ),
            403,
            40310000,
        ),
    ],
    ids=["sub-penny", "unaffordable"],
)
async def test_trading_client_gets_api_error_for_bad_orders(broker, request_factory, status, code):
    client = TradingClient("test-key", "test-secret", url_override=broker.base_url)
    with pytest.raises(APIError) as exc:
        await call(client.submit_order, request_factory())
    assert exc.value.status_code == status
    assert exc.value.code == code


async def test_trading_client_duplicate_client_order_id_is_422(broker):
    client = TradingClient("test-key", "test-secret", url_override=broker.base_url)
    req = LimitOrderRequest(
        symbol="AAPL",
        qty=1,
        side=OrderSide.BUY,
        time_in_force=TimeInForce.DAY,
        limit_price=100.0,
        client_order_id="dup",
    )
    await call(client.submit_order, req)
    with pytest.raises(APIError) as exc:
        await call(client.submit_order, req)
    assert (exc.value.status_code, exc.value.code) == (422, 40010001)
    assert "must be unique" in exc.value.message


async def test_trading_client_gets_api_error_for_an_asset_the_venue_does_not_list(broker):
    # Before: the simulator filled a market order for ZZZZ, which Alpaca would refuse.
    client = TradingClient("test-key", "test-secret", url_override=broker.base_url)
    order = MarketOrderRequest(symbol="ZZZZ", qty=1, side=OrderSide.BUY, time_in_force="day")
    with pytest.raises(APIError) as exc:
        await call(client.submit_order, order)
    assert (exc.value.status_code, exc.value.code) == (422, 40010001)
    assert 'asset "ZZZZ" not found' in exc.value.message
    assert broker.book.orders == {}
    with pytest.raises(APIError) as exc:
        await call(client.get_asset, "ZZZZ")
    assert (exc.value.status_code, exc.value.code) == (404, 40410000)
    assert (await call(client.get_asset, "AAPL")).symbol == "AAPL"


async def test_trading_client_with_wrong_keys_gets_401(broker):
    client = TradingClient("test-key", "bad", url_override=broker.base_url)
    with pytest.raises(APIError) as exc:
        await call(client.get_account)
    assert (exc.value.status_code, exc.value.code) == (401, 40110000)


# The SDK's stream thread takes ~5 s to stop on either loop; the loop matrix adds nothing.
@pytest.mark.one_loop
async def test_trading_stream_receives_new_and_fill(broker, until):
    updates = []
    stream = TradingStream("test-key", "test-secret", url_override=broker.stream_url)

    async def on_update(update):
        updates.append(update)

    stream.subscribe_trade_updates(on_update)
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    await until(lambda: len(broker._listening) == 1, timeout_s=15)

    client = TradingClient("test-key", "test-secret", url_override=broker.base_url)
    order = await call(
        client.submit_order,
        MarketOrderRequest(symbol="AAPL", qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.DAY),
    )
    await until(lambda: len(updates) >= 2, timeout_s=15)
    await call(stream.stop)
    await asyncio.to_thread(thread.join, 10)

    assert [u.event for u in updates[:2]] == ["new", "fill"]
    assert updates[1].order.id == order.id
    assert updates[1].qty == 2
    assert updates[1].price == 150
    assert updates[1].execution_id is not None


# The SDK's stream thread takes ~5 s to stop on either loop; the loop matrix adds nothing.
@pytest.mark.one_loop
async def test_trading_stream_parses_the_rarer_events(broker, until):
    # alpaca-py validates every frame (TradeUpdate) and drops what fails: each event the
    # simulator scripts must reach its handler.
    updates = []
    stream = TradingStream("test-key", "test-secret", url_override=broker.stream_url)

    async def on_update(update):
        updates.append(update)

    stream.subscribe_trade_updates(on_update)
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    await until(lambda: len(broker._listening) == 1, timeout_s=15)
    client = TradingClient("test-key", "test-secret", url_override=broker.base_url)
    resting = LimitOrderRequest(
        symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=140
    )

    # Act: announced, refused cancel, refused replace, expired, and a rejected order
    broker.script.update({"announce": ["accepted", "pending_new"]})
    order = await call(client.submit_order, resting)
    await until(lambda: len(updates) >= 3, timeout_s=15)
    broker.script.update({"cancel_reject_next": 1, "replace_reject_next": 1})
    await call(client.cancel_order_by_id, order.id)
    await until(lambda: len(updates) >= 4, timeout_s=15)
    await call(client.replace_order_by_id, order.id, ReplaceOrderRequest(limit_price=141))
    await until(lambda: len(updates) >= 6, timeout_s=15)
    broker._publish_soon(broker.book.expire_day_orders())
    await until(lambda: len(updates) >= 7, timeout_s=15)
    broker.script.update({"announce": [], "reject_next": 1})
    await call(client.submit_order, resting)
    await until(lambda: len(updates) >= 8, timeout_s=15)
    await call(stream.stop)
    await asyncio.to_thread(thread.join, 10)

    # Assert
    assert [str(getattr(u.event, "value", u.event)) for u in updates] == [
        "accepted",
        "pending_new",
        "new",
        "order_cancel_rejected",
        "order_replace_rejected",
        "rejected",
        "expired",
        "rejected",
    ]
    assert updates[4].order.id == order.id
    assert updates[5].order.replaces == order.id
    assert updates[6].order.status == OrderStatus.EXPIRED
