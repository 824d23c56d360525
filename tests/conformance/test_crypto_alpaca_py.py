"""Alpaca crypto on the simulated broker, proven by alpaca-py (issue 23): ``TradingClient``
trades ``BTC/USD``, reads the ``BTCUSD`` crypto position and the crypto asset, and gets
Alpaca's errors; ``TradingStream`` receives the crypto order's trade updates."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import AssetClass, OrderSide, TimeInForce
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    StopLimitOrderRequest,
)
from alpaca.trading.stream import TradingStream

from tradewire.sim.broker.server import AlpacaBrokerServer
from tradewire.sim.market import NBBO


def call(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    return asyncio.to_thread(fn, *args, **kwargs)


@pytest.fixture
async def broker():  # type: ignore[no-untyped-def]
    async with AlpacaBrokerServer(crypto=("BTC/USD", "ETH/USD")) as server:
        server.market.publish_quote(NBBO("BTC/USD", 60000.0, 1, 60010.0, 1, 1))
        server.market.publish_quote(NBBO("AAPL", 149.99, 100, 150.00, 100, 1))
        yield server


def _client(broker: AlpacaBrokerServer) -> TradingClient:
    return TradingClient("test-key", "test-secret", url_override=broker.base_url)


async def test_alpaca_py_buys_btc_and_reads_the_btcusd_crypto_position(broker, until):  # type: ignore[no-untyped-def]
    client = _client(broker)
    order = await call(
        client.submit_order,
        MarketOrderRequest(
            symbol="BTC/USD", qty=0.001, side=OrderSide.BUY, time_in_force=TimeInForce.GTC
        ),
    )
    assert order.symbol == "BTC/USD"
    assert order.asset_class == AssetClass.CRYPTO
    assert order.time_in_force == TimeInForce.GTC
    await until(lambda: broker.book.orders[str(order.id)].status == "filled")
    (position,) = await call(client.get_all_positions)
    assert position.symbol == "BTCUSD"
    assert position.asset_class == AssetClass.CRYPTO
    assert position.qty == "0.001"
    assert float(position.avg_entry_price) == 60010.0
    assert (await call(client.get_open_position, "BTC/USD")).symbol == "BTCUSD"
    assert (await call(client.get_open_position, "BTCUSD")).qty == "0.001"
    filled = await call(client.get_order_by_id, order.id)
    assert (filled.filled_qty, filled.symbol) == ("0.001", "BTC/USD")


@pytest.mark.parametrize("symbol", ["BTC/USD", "BTCUSD"])
async def test_alpaca_py_reads_the_crypto_asset(broker, symbol):  # type: ignore[no-untyped-def]
    asset = await call(_client(broker).get_asset, symbol)
    assert asset.symbol == "BTC/USD"
    assert asset.asset_class == AssetClass.CRYPTO
    assert (asset.tradable, asset.fractionable, asset.shortable) == (True, True, False)
    assert (asset.min_order_size, asset.min_trade_increment, asset.price_increment) == (
        0.0001,
        0.0001,
        1.0,
    )


async def test_crypto_asset_json_has_the_real_fields(broker):  # type: ignore[no-untyped-def]
    real = json.loads(
        (Path(__file__).parents[1] / "fixtures/alpaca/crypto/crypto__assets__1.json").read_text()
    )
    raw = await call(_client(broker).get, "/assets/BTC/USD")
    assert set(raw) == set(real)
    for key in ("class", "symbol", "min_order_size", "min_trade_increment", "price_increment"):
        assert raw[key] == real[key]
    listed = await call(_client(broker).get, "/assets")
    assert {"BTC/USD", "ETH/USD", "AAPL"} <= {a["symbol"] for a in listed}


async def test_alpaca_py_limit_stop_limit_and_notional_crypto_orders(broker, until):  # type: ignore[no-untyped-def]
    client = _client(broker)
    limit = await call(
        client.submit_order,
        LimitOrderRequest(
            symbol="BTC/USD",
            qty=0.0105,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.GTC,
            limit_price=59000,
        ),
    )
    assert (limit.qty, limit.limit_price) == ("0.0105", "59000")
    stop_limit = await call(
        client.submit_order,
        StopLimitOrderRequest(
            symbol="BTC/USD",
            qty=0.01,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.GTC,
            stop_price=61000,
            limit_price=61100,
        ),
    )
    notional = await call(
        client.submit_order,
        MarketOrderRequest(
            symbol="BTC/USD", notional=250, side=OrderSide.BUY, time_in_force=TimeInForce.IOC
        ),
    )
    await until(lambda: broker.book.orders[str(notional.id)].status == "filled")
    filled = broker.book.orders[str(notional.id)]
    assert filled.filled_qty == filled.filled_qty.quantize(filled.filled_qty.__class__("0.0001"))
    assert filled.filled_qty * filled.filled_avg_price <= 250  # type: ignore[operator]
    assert broker.book.orders[str(limit.id)].status == "new"  # resting below the bid
    assert broker.book.orders[str(stop_limit.id)].status == "new"  # not triggered
    broker.market.publish_quote(NBBO("BTC/USD", 61040.0, 1, 61050.0, 1, 2))
    await until(lambda: broker.book.orders[str(stop_limit.id)].status == "filled")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        # Real answer (alpaca-py PR #681, apca #27): 422 42210000 "invalid crypto time_in_force".
        ({"time_in_force": "day"}, 422, 42210000),
        ({"time_in_force": "fok"}, 422, 42210000),
        ({"qty": "0.00005"}, 422, 40010001),  # below min_order_size
        ({"qty": "0.00015"}, 422, 40010001),  # off min_trade_increment
        ({"type": "limit", "limit_price": "60000.5"}, 422, 42210000),  # off price_increment
        ({"type": "stop", "stop_price": "61000"}, 422, 40010001),  # no stop orders for crypto
        ({"side": "sell"}, 403, 40310000),  # nothing held: no shorting
    ],
    ids=["day", "fok", "below-min", "off-increment", "off-price-increment", "stop", "short"],
)
async def test_crypto_orders_alpaca_refuses(broker, body, status, code):  # type: ignore[no-untyped-def]
    order = {
        "symbol": "BTC/USD",
        "qty": "0.001",
        "side": "buy",
        "type": "market",
        "time_in_force": "gtc",
        **body,
    }
    with pytest.raises(APIError) as exc:
        await call(_client(broker).post, "/orders", order)
    assert (exc.value.status_code, exc.value.code) == (status, code)
    assert broker.book.orders == {}


async def test_alpaca_py_day_crypto_order_is_refused(broker):  # type: ignore[no-untyped-def]
    with pytest.raises(APIError) as exc:
        await call(
            _client(broker).submit_order,
            MarketOrderRequest(
                symbol="BTC/USD", qty=0.001, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
            ),
        )
    assert (exc.value.status_code, exc.value.code) == (422, 42210000)
    assert exc.value.message == "invalid crypto time_in_force"


async def test_a_sell_beyond_the_crypto_position_is_refused(broker, until):  # type: ignore[no-untyped-def]
    client = _client(broker)
    buy = await call(
        client.submit_order,
        MarketOrderRequest(
            symbol="BTC/USD", qty=0.002, side=OrderSide.BUY, time_in_force=TimeInForce.GTC
        ),
    )
    await until(lambda: broker.book.orders[str(buy.id)].status == "filled")
    with pytest.raises(APIError) as exc:
        await call(
            client.submit_order,
            MarketOrderRequest(
                symbol="BTC/USD", qty=0.003, side=OrderSide.SELL, time_in_force=TimeInForce.GTC
            ),
        )
    assert (exc.value.status_code, exc.value.code) == (403, 40310000)
    sell = await call(
        client.submit_order,
        MarketOrderRequest(
            symbol="BTCUSD", qty=0.002, side=OrderSide.SELL, time_in_force=TimeInForce.IOC
        ),
    )
    await until(lambda: broker.book.orders[str(sell.id)].status == "filled")
    assert await call(client.get_all_positions) == []


# The SDK's stream thread takes ~5 s to stop on either loop; the loop matrix adds nothing.
@pytest.mark.one_loop
async def test_trade_updates_carry_the_crypto_order(broker, until):  # type: ignore[no-untyped-def]
    updates: list[Any] = []
    stream = TradingStream("test-key", "test-secret", url_override=broker.stream_url)

    async def on_update(update: Any) -> None:
        updates.append(update)

    stream.subscribe_trade_updates(on_update)
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    await until(lambda: len(broker._listening) == 1, timeout_s=15)
    order = await call(
        _client(broker).submit_order,
        MarketOrderRequest(
            symbol="BTC/USD", qty=0.001, side=OrderSide.BUY, time_in_force=TimeInForce.GTC
        ),
    )
    await until(lambda: len(updates) >= 2, timeout_s=15)
    await call(stream.stop)
    await asyncio.to_thread(thread.join, 10)
    new, fill = updates[:2]
    assert (new.event, fill.event) == ("new", "fill")
    assert fill.order.id == order.id
    assert (fill.order.symbol, fill.order.asset_class) == ("BTC/USD", AssetClass.CRYPTO)
    assert fill.qty == 0.001
    assert fill.position_qty == 0.001


async def test_alpaca_py_replaces_lists_and_closes_crypto(broker, until):  # type: ignore[no-untyped-def]
    from alpaca.trading.enums import QueryOrderStatus
    from alpaca.trading.requests import (
        ClosePositionRequest,
        GetOrdersRequest,
        ReplaceOrderRequest,
    )

    client = _client(broker)
    buy = await call(
        client.submit_order,
        MarketOrderRequest(
            symbol="BTC/USD", qty=0.0103, side=OrderSide.BUY, time_in_force=TimeInForce.GTC
        ),
    )
    await until(lambda: broker.book.orders[str(buy.id)].status == "filled")
    limit = await call(
        client.submit_order,
        LimitOrderRequest(
            symbol="BTC/USD",
            qty=0.001,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.GTC,
            limit_price=50000,
        ),
    )
    # alpaca-py types ReplaceOrderRequest.qty as an int: a crypto replace changes the price.
    replaced = await call(
        client.replace_order_by_id, limit.id, ReplaceOrderRequest(limit_price=50001)
    )
    assert (replaced.qty, replaced.limit_price, replaced.replaces) == ("0.001", "50001", limit.id)
    listed = await call(
        client.get_orders, GetOrdersRequest(status=QueryOrderStatus.OPEN, symbols=["BTCUSD"])
    )
    assert [o.id for o in listed] == [replaced.id]
    close = await call(client.close_position, "BTCUSD", ClosePositionRequest(percentage="50"))
    assert (close.symbol, close.qty, close.time_in_force) == ("BTC/USD", "0.0051", TimeInForce.GTC)
    await until(lambda: broker.book.orders[str(close.id)].status == "filled")
    (position,) = await call(client.get_all_positions)
    assert position.qty == "0.0052"


async def test_alpaca_py_lists_assets_by_class(broker):  # type: ignore[no-untyped-def]
    from alpaca.trading.requests import GetAssetsRequest

    client = _client(broker)
    crypto = await call(client.get_all_assets, GetAssetsRequest(asset_class=AssetClass.CRYPTO))
    assert sorted(a.symbol for a in crypto) == ["BTC/USD", "ETH/USD"]
    stocks = await call(client.get_all_assets, GetAssetsRequest(asset_class=AssetClass.US_EQUITY))
    assert [a.symbol for a in stocks] == ["AAPL"]
    assert len(await call(client.get_all_assets)) == 3


async def test_alpaca_py_reads_cfee_activities(until):  # type: ignore[no-untyped-def]
    from alpaca.trading.enums import ActivityType
    from alpaca.trading.models import NonTradeActivity

    async with AlpacaBrokerServer(crypto=("BTC/USD",), crypto_fee_bps=25) as broker:
        broker.market.publish_quote(NBBO("BTC/USD", 60000.0, 1, 60010.0, 1, 1))
        client = _client(broker)
        order = await call(
            client.submit_order,
            MarketOrderRequest(
                symbol="BTC/USD", qty=0.01, side=OrderSide.BUY, time_in_force=TimeInForce.GTC
            ),
        )
        await until(lambda: broker.book.orders[str(order.id)].status == "filled")
        (position,) = await call(client.get_all_positions)
        assert position.qty == "0.009975"
        account_id = (await call(client.get_account)).id
        raw = await call(client.get, "/account/activities/CFEE")
        fills = await call(client.get, "/account/activities", {"activity_types": "FILL"})
    (fee,) = [NonTradeActivity(account_id=account_id, **item) for item in raw]
    assert fee.activity_type == ActivityType.CFEE
    assert (fee.symbol, fee.qty, fee.net_amount) == ("BTCUSD", -0.000025, 0)
    assert [f["qty"] for f in fills] == ["0.01"]
