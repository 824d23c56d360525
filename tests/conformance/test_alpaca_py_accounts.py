"""alpaca-py against one simulator serving two accounts by key pair (issue 25): each
TradingClient sees only its own orders and positions, each TradingStream only its own
account's trade updates."""

from __future__ import annotations

import asyncio
import threading

import pytest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import GetOrdersRequest, MarketOrderRequest
from alpaca.trading.stream import TradingStream

from tradewire.sim.broker.server import AlpacaBrokerServer
from tradewire.sim.market import NBBO

PAIRS = {"main": ("test-key", "test-secret"), "b": ("b-key", "b-secret")}


def call(fn, *args, **kwargs):
    return asyncio.to_thread(fn, *args, **kwargs)


def _buy(symbol: str, qty: int) -> MarketOrderRequest:
    return MarketOrderRequest(
        symbol=symbol, qty=qty, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
    )


async def test_two_trading_clients_see_only_their_own_orders_and_positions(until):
    async with AlpacaBrokerServer(accounts={"b": PAIRS["b"]}) as broker:
        broker.market.publish_quote(NBBO("AAPL", 149.99, 100, 150.00, 100, 1))
        broker.market.publish_quote(NBBO("MSFT", 400.00, 100, 400.04, 100, 1))
        a = TradingClient(*PAIRS["main"], url_override=broker.base_url)
        b = TradingClient(*PAIRS["b"], url_override=broker.base_url)
        a_order = await call(a.submit_order, _buy("AAPL", 3))
        b_order = await call(b.submit_order, _buy("MSFT", 2))
        await until(lambda: "AAPL" in broker.accounts["main"].book.positions)
        await until(lambda: "MSFT" in broker.accounts["b"].book.positions)

        everything = GetOrdersRequest(status=QueryOrderStatus.ALL)
        assert [o.id for o in await call(a.get_orders, everything)] == [a_order.id]
        assert [o.id for o in await call(b.get_orders, everything)] == [b_order.id]
        assert [(p.symbol, p.qty) for p in await call(a.get_all_positions)] == [("AAPL", "3")]
        assert [(p.symbol, p.qty) for p in await call(b.get_all_positions)] == [("MSFT", "2")]
        a_account = await call(a.get_account)
        b_account = await call(b.get_account)
        assert a_account.id != b_account.id
        assert float(a_account.cash) == 100000 - 450.0
        assert float(b_account.cash) == 100000 - 800.08


# The SDK's stream thread takes ~5 s to stop on either loop; the loop matrix adds nothing.
@pytest.mark.one_loop
async def test_two_trading_streams_each_hear_only_their_own_account(until):
    async with AlpacaBrokerServer(accounts={"b": PAIRS["b"]}) as broker:
        broker.market.publish_quote(NBBO("AAPL", 149.99, 100, 150.00, 100, 1))
        broker.market.publish_quote(NBBO("MSFT", 400.00, 100, 400.04, 100, 1))
        updates: dict[str, list] = {"main": [], "b": []}
        streams, threads = [], []
        for name, (key, secret) in PAIRS.items():
            stream = TradingStream(key, secret, url_override=broker.stream_url)

            async def on_update(update, name=name):
                updates[name].append(update)

            stream.subscribe_trade_updates(on_update)
            thread = threading.Thread(target=stream.run, daemon=True)
            thread.start()
            streams.append(stream)
            threads.append(thread)
        await until(
            lambda: all(len(a._listening) == 1 for a in broker.accounts.values()), timeout_s=15
        )

        a = TradingClient(*PAIRS["main"], url_override=broker.base_url)
        b = TradingClient(*PAIRS["b"], url_override=broker.base_url)
        a_order = await call(a.submit_order, _buy("AAPL", 1))
        b_order = await call(b.submit_order, _buy("MSFT", 1))
        await until(lambda: len(updates["main"]) >= 2 and len(updates["b"]) >= 2, timeout_s=15)
        await asyncio.sleep(0.2)  # anything misrouted would have arrived by now
        for stream in streams:
            await call(stream.stop)
        for thread in threads:
            await asyncio.to_thread(thread.join, 10)

        assert [(u.event, u.order.id) for u in updates["main"]] == [
            ("new", a_order.id),
            ("fill", a_order.id),
        ]
        assert [(u.event, u.order.id) for u in updates["b"]] == [
            ("new", b_order.id),
            ("fill", b_order.id),
        ]
