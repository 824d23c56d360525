"""Our AlpacaClient and TradeStream against the broker simulator on loopback."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from tradewire import AlpacaClient
from tradewire.errors import FatalBrokerError, NotFound, OrderRejected
from tradewire.sim.broker.server import AlpacaBrokerServer
from tradewire.sim.market import NBBO
from tradewire.venues.alpaca.config import AlpacaBrokerConfig
from tradewire.venues.alpaca.errors import OrderValidationError
from tradewire.venues.alpaca.stream import TradeStream


@pytest.fixture
async def broker():
    async with AlpacaBrokerServer() as server:
        server.market.publish_quote(NBBO("AAPL", 149.99, 100, 150.00, 100, 1))
        server.market.publish_quote(NBBO("MSFT", 400.00, 100, 400.04, 100, 1))
        yield server


@pytest.fixture
async def client(broker):
    c = AlpacaClient("test-key", "test-secret", base_url=broker.base_url)
    await c.connect()
    yield c
    await c.close()


async def test_seed_usage_place_limit_order_returns_typed_order(client, broker):
    order = await client.place_order(
        symbol="AAPL", qty=100, side="buy", order_type="limit", limit_price=150.00
    )
    assert order.status == "accepted"
    assert order.qty == 100
    assert order.limit_price == Decimal("150")
    assert broker.book.orders_by_client_id[order.client_order_id].symbol == "AAPL"


async def test_order_lifecycle_get_list_replace_cancel(client, broker, until):
    order = await client.place_order(
        "MSFT", 5, "buy", "limit", 390.00, time_in_force="gtc", client_order_id="life-1"
    )
    assert (await client.get_order(order.id)).client_order_id == "life-1"
    assert (await client.get_order_by_client_id("life-1")).id == order.id
    assert [o.id for o in await client.list_orders(status="open")] == [order.id]
    new = await client.replace_order(order.id, limit_price=391.00)
    assert new.replaces == order.id
    await until(lambda: broker.book.orders[order.id].status == "replaced")
    await client.cancel_order(new.id)
    await until(lambda: broker.book.orders[new.id].status == "canceled")
    closed = await client.list_orders(status="closed")
    assert {o.status for o in closed} == {"replaced", "canceled"}


async def test_positions_account_clock_assets_and_close(client, broker, until):
    await client.place_order("AAPL", 10, "buy")
    await until(lambda: "AAPL" in broker.book.positions)
    (position,) = await client.get_positions()
    assert (position.symbol, position.qty, position.avg_entry_price) == ("AAPL", 10, Decimal("150"))
    assert (await client.get_position("AAPL")).side == "long"
    account = await client.get_account()
    assert account.cash == Decimal("98500")
    assert (await client.get_clock()).is_open
    assert (await client.get_asset("AAPL")).symbol == "AAPL"
    close = await client.close_position("AAPL", percentage=50)
    assert close.side == "sell"
    await until(lambda: broker.book.positions["AAPL"].qty == 5)
    results = await client.close_all_positions(cancel_orders=True)
    assert [(r.symbol, r.status) for r in results] == [("AAPL", 200)]
    assert results[0].order is not None


async def test_cancel_all_returns_207_items(client):
    a = await client.place_order("AAPL", 1, "buy", "limit", 100.00)
    b = await client.place_order("AAPL", 1, "buy", "limit", 101.00)
    results = await client.cancel_all_orders()
    assert {r.id for r in results} == {a.id, b.id}
    assert {r.status for r in results} == {200}


async def test_rejections_are_typed_with_code(client):
    with pytest.raises(OrderRejected) as exc:
        await client.place_order("AAPL", 100_000, "buy")
    assert (exc.value.status, exc.value.code) == (403, 40310000)
    await client.place_order("AAPL", 1, "buy", "limit", 100.00, client_order_id="once")
    with pytest.raises(OrderRejected, match="must be unique"):
        await client.place_order("AAPL", 1, "buy", "limit", 100.00, client_order_id="once")
    with pytest.raises(NotFound):
        await client.get_order_by_client_id("never-sent")
    with pytest.raises(OrderValidationError):
        await client.place_order("AAPL", 1, "buy", "limit", 150.001)


async def test_wrong_keys_are_fatal_and_never_echoed(broker):
    bad = AlpacaClient("test-key", "wrong-secret-value", base_url=broker.base_url)
    with pytest.raises(FatalBrokerError) as exc:
        await bad.get_account()
    assert "wrong-secret-value" not in str(exc.value)
    assert "wrong-secret-value" not in repr(bad)
    await bad.close()


async def test_submit_nowait_writes_before_returning(client, broker, until):
    from tradewire.venues.alpaca.requests import build_order

    task = client.submit_order_nowait(
        build_order(symbol="AAPL", qty=1, side="buy", client_order_id="hot-1")
    )
    assert client.orders_written == 1  # bytes are on the socket already
    order = await task
    assert order.client_order_id == "hot-1"


async def test_rate_limit_429_is_honoured_without_losing_orders():
    # Arrange: the venue allows 120/min (2 per second) and starts with 2 tokens left.
    async with AlpacaBrokerServer() as broker:
        broker.market.publish_quote(NBBO("AAPL", 149.99, 100, 150.00, 100, 1))
        broker.set_rate_limit(120, tokens=2)
        config = AlpacaBrokerConfig(rate_limit_per_minute=600, resolve_backoff_s=0.05)
        client = AlpacaClient("test-key", "test-secret", base_url=broker.base_url, config=config)

        # Act
        orders = await asyncio.gather(
            *(
                client.place_order("AAPL", 1, "buy", "limit", 100.00, client_order_id=f"rl-{i}")
                for i in range(4)
            )
        )

        # Assert: every order landed exactly once, though some requests met a 429
        assert sorted(o.client_order_id for o in orders) == [f"rl-{i}" for i in range(4)]
        assert sum(1 for cid in broker.book.orders_by_client_id if cid.startswith("rl-")) == 4
        assert client.orders_unknown >= 1
        await client.close()


async def test_trade_stream_receives_new_and_fill_and_reports_the_gap_after_drop(
    client, broker, until
):
    updates = []
    gaps = []
    stream = TradeStream(
        broker.stream_url,
        "test-key",
        "test-secret",
        on_update=updates.append,
        on_gap=lambda since: gaps.append(stream.reconnects),
        seed=1,
    )
    await stream.start()
    order = await client.place_order("AAPL", 3, "buy")
    await until(lambda: [u.event for u in updates] == ["new", "fill"])
    assert updates[1].qty == 3
    assert updates[1].order.id == order.id

    broker.close_streams()
    await until(lambda: gaps == [1])  # told once, after it listens again
    await client.place_order("AAPL", 3, "sell")
    await until(lambda: [u.event for u in updates][-2:] == ["new", "fill"] and len(updates) == 4)
    assert gaps == [1]
    await stream.close()


async def test_trade_stream_with_wrong_secret_raises_fatal(broker):
    stream = TradeStream(broker.stream_url, "test-key", "nope", on_update=print)
    with pytest.raises(FatalBrokerError):
        await stream.start(timeout_s=5)
    await stream.close()


async def test_trade_stream_accepts_text_frames(client, broker, until):
    broker.binary_frames = False
    updates = []
    stream = TradeStream(broker.stream_url, "test-key", "test-secret", on_update=updates.append)
    await stream.start()
    await client.place_order("AAPL", 1, "buy")
    await until(lambda: len(updates) == 2)
    await stream.close()


async def test_trade_stream_closed_during_handshake_ends_the_new_connection(
    broker, hold_ws_connect
):
    # Same race as the feed client's: close() while ws_connect is in flight must not leave
    # the supervisor waiting on a connection nobody will end.
    import tradewire.net.websocket as websocket_module

    in_handshake, release = hold_ws_connect(websocket_module)
    stream = TradeStream(broker.stream_url, "test-key", "test-secret", on_update=print)
    starting = asyncio.create_task(stream.start(timeout_s=5))
    await asyncio.wait_for(in_handshake.wait(), 5)
    closing = asyncio.create_task(stream.close())
    await asyncio.sleep(0)
    release.set()
    await asyncio.wait_for(closing, 5)
    starting.cancel()
    await asyncio.gather(starting, return_exceptions=True)
