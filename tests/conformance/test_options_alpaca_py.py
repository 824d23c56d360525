"""Alpaca options on the simulated broker, proven by alpaca-py (issue 24): ``TradingClient``
pages the contract list, reads a contract, trades a single contract and a multi-leg spread,
reads the option positions, exercises, and gets Alpaca's errors; ``TradingStream`` receives
the mleg order with its legs; ``/_sim/options`` settles an expiry."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import (
    AssetClass,
    ContractType,
    OrderClass,
    OrderSide,
    PositionIntent,
    TimeInForce,
)
from alpaca.trading.requests import (
    GetOptionContractsRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    OptionLegRequest,
)
from alpaca.trading.stream import TradingStream

from tradewire.engine.options import occ_symbol
from tradewire.sim.broker.orders import asset_id_for
from tradewire.sim.broker.server import AlpacaBrokerServer
from tradewire.sim.market import NBBO
from tradewire.sim.option_chain import OptionChains, expiry_instant, listing_fridays

LISTED_ON = datetime.now(UTC).date() + timedelta(days=7)
EXPIRY = listing_fridays(LISTED_ON, 1)[0]
CALL_500 = occ_symbol("SPY", EXPIRY, "call", 500)
CALL_510 = occ_symbol("SPY", EXPIRY, "call", 510)
PUT_490 = occ_symbol("SPY", EXPIRY, "put", 490)


def call(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    return asyncio.to_thread(fn, *args, **kwargs)


@pytest.fixture
async def broker():  # type: ignore[no-untyped-def]
    chains = OptionChains()
    chains.list_underlying("SPY", 500.0, LISTED_ON)
    async with AlpacaBrokerServer(option_chains=chains) as server:
        for symbol, bid, ask in (
            ("SPY", 499.99, 500.01),
            (CALL_500, 4.20, 4.30),
            (CALL_510, 1.00, 1.10),
            (PUT_490, 2.00, 2.10),
        ):
            server.market.publish_quote(NBBO(symbol, bid, 10, ask, 10, 1))
        yield server


def _client(broker: AlpacaBrokerServer) -> TradingClient:
    return TradingClient("test-key", "test-secret", url_override=broker.base_url)


async def test_alpaca_py_pages_the_contract_list_and_reads_a_contract(broker):  # type: ignore[no-untyped-def]
    client = _client(broker)
    request = GetOptionContractsRequest(underlying_symbols=["SPY"], type=ContractType.CALL, limit=5)
    first = await call(client.get_option_contracts, request)
    assert len(first.option_contracts) == 5
    assert first.next_page_token is not None
    seen = [c.symbol for c in first.option_contracts]
    token = first.next_page_token
    while token is not None:
        page = await call(
            client.get_option_contracts,
            GetOptionContractsRequest(
                underlying_symbols=["SPY"], type=ContractType.CALL, limit=5, page_token=token
            ),
        )
        seen += [c.symbol for c in page.option_contracts]
        token = page.next_page_token
    assert len(set(seen)) == 33  # 3 expiries x 11 strikes, calls
    narrow = await call(
        client.get_option_contracts,
        GetOptionContractsRequest(
            underlying_symbols=["SPY"],
            expiration_date=EXPIRY,
            strike_price_gte="490",
            strike_price_lte="490",
        ),
    )
    assert {c.symbol for c in narrow.option_contracts} == {
        PUT_490,
        occ_symbol("SPY", EXPIRY, "call", 490),
    }
    contract = await call(client.get_option_contract, PUT_490)
    assert (contract.symbol, contract.type, contract.strike_price) == (PUT_490, "put", 490.0)
    assert (contract.underlying_symbol, contract.size, contract.expiration_date) == (
        "SPY",
        "100",
        EXPIRY,
    )
    by_id = await call(client.get_option_contract, asset_id_for(PUT_490))
    assert by_id.symbol == PUT_490
    with pytest.raises(APIError) as exc:
        await call(client.get_option_contracts, GetOptionContractsRequest(limit=10_001))
    assert exc.value.status_code == 422
    with pytest.raises(APIError) as exc:
        await call(client.get_option_contract, "SPY991231C00500000")
    assert exc.value.status_code == 404


async def test_alpaca_py_buys_a_contract_and_reads_the_option_position(broker, until):  # type: ignore[no-untyped-def]
    client = _client(broker)
    order = await call(
        client.submit_order,
        LimitOrderRequest(
            symbol=CALL_500,
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            limit_price=4.30,
            position_intent=PositionIntent.BUY_TO_OPEN,
        ),
    )
    assert (order.symbol, order.asset_class) == (CALL_500, AssetClass.US_OPTION)
    assert order.position_intent == PositionIntent.BUY_TO_OPEN
    await until(lambda: broker.book.orders[str(order.id)].status == "filled")
    (position,) = await call(client.get_all_positions)
    assert (position.symbol, position.asset_class, position.qty) == (
        CALL_500,
        AssetClass.US_OPTION,
        "1",
    )
    assert (position.avg_entry_price, position.cost_basis) == ("4.3", "430")
    account = await call(client.get_account)
    assert Decimal(account.cash) == Decimal("99570")


async def test_alpaca_py_submits_an_mleg_spread_and_reads_it_back_with_legs(broker, until):  # type: ignore[no-untyped-def]
    client = _client(broker)
    order = await call(
        client.submit_order,
        LimitOrderRequest(
            order_class=OrderClass.MLEG,
            qty=2,
            limit_price=3.50,
            time_in_force=TimeInForce.DAY,
            legs=[
                OptionLegRequest(symbol=CALL_500, ratio_qty=1, side=OrderSide.BUY),
                OptionLegRequest(
                    symbol=CALL_510, ratio_qty=1, position_intent=PositionIntent.SELL_TO_OPEN
                ),
            ],
        ),
    )
    assert order.order_class == OrderClass.MLEG
    assert order.symbol is None
    assert order.side is None
    assert [leg.symbol for leg in order.legs] == [CALL_500, CALL_510]
    await until(lambda: broker.book.orders[str(order.id)].status == "filled")
    filled = await call(client.get_order_by_id, order.id)
    assert (filled.filled_qty, float(filled.filled_avg_price)) == ("2", 3.3)
    buy, sell = filled.legs
    assert (buy.side, buy.qty, buy.ratio_qty, float(buy.filled_avg_price)) == (
        OrderSide.BUY,
        "2",
        "1",
        4.3,
    )
    assert (sell.side, sell.position_intent) == (OrderSide.SELL, PositionIntent.SELL_TO_OPEN)
    positions = {p.symbol: p for p in await call(client.get_all_positions)}
    assert (positions[CALL_500].qty, positions[CALL_510].qty) == ("2", "-2")
    assert positions[CALL_510].side == "short"
    fills = await call(client.get, "/account/activities/FILL")
    assert {(f["symbol"], f["order_id"]) for f in fills} == {
        (CALL_500, str(buy.id)),
        (CALL_510, str(sell.id)),
    }


async def test_alpaca_py_exercises_a_call(broker, until):  # type: ignore[no-untyped-def]
    client = _client(broker)
    order = await call(
        client.submit_order,
        MarketOrderRequest(
            symbol=CALL_500, qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC
        ),
    )
    await until(lambda: broker.book.orders[str(order.id)].status == "filled")
    assert await call(client.exercise_options_position, CALL_500) is None
    (spy,) = await call(client.get_all_positions)
    assert (spy.symbol, spy.qty, spy.asset_class) == ("SPY", "100", AssetClass.US_EQUITY)
    assert float(spy.avg_entry_price) == 500.0
    (activity,) = await call(client.get, "/account/activities/OPEXC")
    assert (activity["symbol"], activity["qty"]) == (CALL_500, "-1")
    with pytest.raises(APIError) as exc:
        await call(client.exercise_options_position, CALL_500)
    assert exc.value.status_code == 404


async def test_the_expiry_control_settles_itm_and_otm_contracts(broker, until):  # type: ignore[no-untyped-def]
    client = _client(broker)
    for symbol, side in ((CALL_500, OrderSide.BUY), (PUT_490, OrderSide.SELL)):
        order = await call(
            client.submit_order,
            MarketOrderRequest(symbol=symbol, qty=1, side=side, time_in_force=TimeInForce.DAY),
        )
        await until(lambda o=order: broker.book.orders[str(o.id)].status == "filled")
    broker.market.publish_quote(NBBO("SPY", 504.99, 10, 505.01, 10, 2))
    auth = {"APCA-API-KEY-ID": "test-key", "APCA-API-SECRET-KEY": "test-secret"}
    async with (
        aiohttp.ClientSession(broker.base_url, headers=auth) as http,
        http.post("/_sim/options", json={"expire": EXPIRY.isoformat()}) as resp,
    ):
        assert resp.status == 200
        answer = await resp.json()
    assert sorted(a["activity_type"] for a in answer["activities"]) == ["OPEXC", "OPEXP"]
    (spy,) = await call(client.get_all_positions)
    assert (spy.symbol, spy.qty) == ("SPY", "100")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"time_in_force": "ioc"}, 422),
        ({"time_in_force": "fok"}, 422),
        ({"qty": "1.5"}, 422),
        ({"qty": None, "notional": "500"}, 422),
        ({"symbol": "SPY991231C00500000"}, 422),
    ],
    ids=["ioc", "fok", "fractional", "notional", "unlisted"],
)
async def test_option_orders_alpaca_refuses(broker, body, status):  # type: ignore[no-untyped-def]
    order = {
        "symbol": CALL_500,
        "qty": "1",
        "side": "buy",
        "type": "market",
        "time_in_force": "day",
        **body,
    }
    with pytest.raises(APIError) as exc:
        await call(_client(broker).post, "/orders", {k: v for k, v in order.items() if v})
    assert (exc.value.status_code, exc.value.code) == (status, 40010001)
    assert broker.book.orders == {}


async def test_alpaca_py_ioc_option_order_gets_the_tif_refusal(broker):  # type: ignore[no-untyped-def]
    with pytest.raises(APIError) as exc:
        await call(
            _client(broker).submit_order,
            MarketOrderRequest(
                symbol=CALL_500, qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.IOC
            ),
        )
    assert exc.value.status_code == 422
    assert exc.value.message == "order_time_in_force provided not supported for options trading"


def _leg(symbol: str, side: str = "buy") -> dict[str, object]:
    return {"symbol": symbol, "ratio_qty": "1", "side": side}


FIVE = [CALL_500, CALL_510, PUT_490] + [occ_symbol("SPY", EXPIRY, "put", k) for k in (495, 500)]


@pytest.mark.parametrize(
    ("legs", "message"),
    [
        ([_leg(s) for s in FIVE], "At most 4 legs are allowed for the mleg order class."),
        ([_leg(CALL_500), _leg(CALL_500, "sell")], "All legs must have unique symbols."),
        ([_leg(CALL_500)], "At least 2 legs are required for the mleg order class."),
    ],
    ids=["five-legs", "duplicate", "one-leg"],
)
async def test_mleg_orders_alpaca_refuses(broker, legs, message):  # type: ignore[no-untyped-def]
    # alpaca-py refuses these itself (ValueError) before sending: raw bodies reach the venue.
    body = {
        "order_class": "mleg",
        "qty": "1",
        "type": "limit",
        "limit_price": "1",
        "time_in_force": "day",
        "legs": legs,
    }
    with pytest.raises(APIError) as exc:
        await call(_client(broker).post, "/orders", body)
    assert (exc.value.status_code, exc.value.message) == (422, message)
    assert broker.book.orders == {}


# The SDK's stream thread takes ~5 s to stop on either loop; the loop matrix adds nothing.
@pytest.mark.one_loop
async def test_trade_updates_carry_the_mleg_parent_with_its_legs(broker, until):  # type: ignore[no-untyped-def]
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
            order_class=OrderClass.MLEG,
            qty=1,
            time_in_force=TimeInForce.DAY,
            legs=[
                OptionLegRequest(symbol=CALL_500, ratio_qty=1, side=OrderSide.BUY),
                OptionLegRequest(symbol=CALL_510, ratio_qty=1, side=OrderSide.SELL),
            ],
        ),
    )
    await until(lambda: len(updates) >= 2, timeout_s=15)
    await call(stream.stop)
    await asyncio.to_thread(thread.join, 10)
    assert [u.event for u in updates] == ["new", "fill"]
    fill = updates[1]
    assert fill.order.id == order.id
    assert fill.order.order_class == OrderClass.MLEG
    assert [leg.symbol for leg in fill.order.legs] == [CALL_500, CALL_510]
    assert (fill.qty, fill.price) == (1, 3.3)


async def test_the_broker_settles_an_expiry_once_its_clock_passes_the_close(broker, until):  # type: ignore[no-untyped-def]
    client = _client(broker)
    order = await call(
        client.submit_order,
        MarketOrderRequest(
            symbol=CALL_500, qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
        ),
    )
    await until(lambda: broker.book.orders[str(order.id)].status == "filled")
    close = expiry_instant(EXPIRY)
    broker.book.clock = lambda: close - timedelta(seconds=1)
    broker.market.publish_quote(NBBO("SPY", 509.99, 10, 510.01, 10, 3))
    assert CALL_500 in broker.book.positions  # a second before the 4 PM ET close
    broker.book.clock = lambda: close
    broker.market.publish_quote(NBBO("SPY", 509.99, 10, 510.01, 10, 4))
    (spy,) = await call(client.get_all_positions)
    assert (spy.symbol, spy.qty) == ("SPY", "100")
    (activity,) = await call(client.get, "/account/activities/OPEXC")
    assert activity["symbol"] == CALL_500
