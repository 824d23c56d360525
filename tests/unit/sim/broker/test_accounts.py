"""Several paper accounts in one simulated broker, by key pair (issue 25).

Each key pair has its own book (cash, orders, positions, fills, activities), its own
lifecycle script and fault knobs, and its own trade_updates listeners; every quote of the
shared market drives every book. ``/_sim/`` acts on the account that authenticates it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from tradewire.sim.broker.server import AlpacaBrokerServer
from tradewire.sim.market import NBBO

MAIN = {"APCA-API-KEY-ID": "test-key", "APCA-API-SECRET-KEY": "test-secret"}
B = {"APCA-API-KEY-ID": "b-key", "APCA-API-SECRET-KEY": "b-secret"}
Until = Callable[..., Any]


@pytest.fixture
async def broker() -> AsyncIterator[AlpacaBrokerServer]:
    async with AlpacaBrokerServer(accounts={"b": ("b-key", "b-secret")}) as server:
        server.market.publish_quote(NBBO("AAPL", 149.99, 100, 150.00, 100, 1))
        server.market.publish_quote(NBBO("MSFT", 400.00, 100, 400.04, 100, 1))
        yield server


async def _call(
    broker: AlpacaBrokerServer, auth: dict[str, str], method: str, path: str, **kw: Any
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession(broker.base_url, headers=auth) as http,
        asyncio.timeout(5),
        http.request(method, path, **kw) as resp,
    ):
        raw = await resp.read()
        return resp.status, json.loads(raw) if raw else None


def _order(symbol: str, qty: int, cid: str, **extra: str) -> dict[str, str]:
    return {
        "symbol": symbol,
        "qty": str(qty),
        "side": "buy",
        "type": "market",
        "time_in_force": "day",
        "client_order_id": cid,
        **extra,
    }


async def test_each_key_pair_trades_its_own_book(broker: AlpacaBrokerServer, until: Until) -> None:
    status, a_order = await _call(broker, MAIN, "POST", "/v2/orders", json=_order("AAPL", 10, "x"))
    assert status == 200
    # The same client_order_id is free in the other account: ids are per account.
    status, b_order = await _call(broker, B, "POST", "/v2/orders", json=_order("MSFT", 2, "x"))
    assert status == 200
    main, other = broker.accounts["main"].book, broker.accounts["b"].book
    assert main is broker.book
    await until(lambda: main.orders[a_order["id"]].status == "filled")
    await until(lambda: other.orders[b_order["id"]].status == "filled")
    assert set(main.orders) == {a_order["id"]}
    assert set(other.orders) == {b_order["id"]}

    _, a_positions = await _call(broker, MAIN, "GET", "/v2/positions")
    _, b_positions = await _call(broker, B, "GET", "/v2/positions")
    assert [(p["symbol"], p["qty"]) for p in a_positions] == [("AAPL", "10")]
    assert [(p["symbol"], p["qty"]) for p in b_positions] == [("MSFT", "2")]

    _, a_account = await _call(broker, MAIN, "GET", "/v2/account")
    _, b_account = await _call(broker, B, "GET", "/v2/account")
    assert Decimal(a_account["cash"]) == Decimal(100000) - Decimal(1500)
    assert Decimal(b_account["cash"]) == Decimal(100000) - Decimal("800.08")
    assert a_account["id"] != b_account["id"]

    _, a_fills = await _call(broker, MAIN, "GET", "/v2/account/activities/FILL")
    _, b_fills = await _call(broker, B, "GET", "/v2/account/activities/FILL")
    assert [f["order_id"] for f in a_fills] == [a_order["id"]]
    assert [f["order_id"] for f in b_fills] == [b_order["id"]]

    status, _ = await _call(broker, B, "GET", f"/v2/orders/{a_order['id']}")
    assert status == 404  # another account's order does not exist for this key
    _, b_all = await _call(broker, B, "GET", "/v2/orders?status=all")
    assert [o["id"] for o in b_all] == [b_order["id"]]
    _, by_cid = await _call(broker, B, "GET", "/v2/orders:by_client_order_id?client_order_id=x")
    assert by_cid["id"] == b_order["id"]

    status, closed = await _call(broker, B, "DELETE", "/v2/positions")
    assert status == 207
    assert [c["symbol"] for c in closed] == ["MSFT"]
    await until(lambda: not other.positions)
    assert set(main.positions) == {"AAPL"}


async def test_every_quote_drives_every_book(broker: AlpacaBrokerServer, until: Until) -> None:
    limit = {**_order("AAPL", 1, "rest"), "type": "limit", "limit_price": "140"}
    ids = []
    for auth in (MAIN, B):
        status, body = await _call(broker, auth, "POST", "/v2/orders", json=limit)
        assert status == 200
        ids.append(body["id"])
    books = [broker.accounts["main"].book, broker.accounts["b"].book]
    await until(lambda: all(b.orders[i].status == "new" for b, i in zip(books, ids, strict=True)))
    broker.market.publish_quote(NBBO("AAPL", 139.0, 100, 139.5, 100, 2))
    await until(
        lambda: all(b.orders[i].status == "filled" for b, i in zip(books, ids, strict=True))
    )


@pytest.mark.parametrize(
    "auth",
    [
        {"APCA-API-KEY-ID": "test-key", "APCA-API-SECRET-KEY": "b-secret"},
        {"APCA-API-KEY-ID": "b-key", "APCA-API-SECRET-KEY": "test-secret"},
        {"APCA-API-KEY-ID": "nobody", "APCA-API-SECRET-KEY": "b-secret"},
        {"Authorization": "Bearer wrong"},
    ],
    ids=["main-key-b-secret", "b-key-main-secret", "unknown-key", "bearer"],
)
async def test_a_wrong_pair_is_refused(broker: AlpacaBrokerServer, auth: dict[str, str]) -> None:
    for path in ("/v2/account", "/_sim/faults"):
        status, body = await _call(broker, auth, "GET", path)
        assert (status, body["code"]) == (401, 40110000)


async def test_a_bearer_secret_picks_its_account(broker: AlpacaBrokerServer) -> None:
    await _call(broker, B, "POST", "/v2/orders", json=_order("MSFT", 1, "bearer"))
    status, orders = await _call(
        broker, {"Authorization": "Bearer b-secret"}, "GET", "/v2/orders?status=all"
    )
    assert status == 200
    assert [o["client_order_id"] for o in orders] == ["bearer"]


async def _listen(
    session: aiohttp.ClientSession, broker: AlpacaBrokerServer, key: str, secret: str
):
    ws = await session.ws_connect(broker.stream_url)
    await ws.send_json({"action": "authenticate", "data": {"key_id": key, "secret_key": secret}})
    assert json.loads((await ws.receive()).data)["data"]["status"] == "authorized"
    await ws.send_json({"action": "listen", "data": {"streams": ["trade_updates"]}})
    assert json.loads((await ws.receive()).data)["stream"] == "listening"
    return ws


async def _updates(ws: aiohttp.ClientWebSocketResponse, n: int) -> list[dict[str, Any]]:
    got = []
    async with asyncio.timeout(5):
        while len(got) < n:
            got.append(json.loads((await ws.receive()).data)["data"])
    return got


async def test_each_stream_hears_only_its_account(broker: AlpacaBrokerServer) -> None:
    async with aiohttp.ClientSession() as raw:
        a_ws = await _listen(raw, broker, "test-key", "test-secret")
        b_ws = await _listen(raw, broker, "b-key", "b-secret")
        # A pair mixing two accounts' halves authenticates nobody.
        bad = await raw.ws_connect(broker.stream_url)
        await bad.send_json(
            {"action": "authenticate", "data": {"key_id": "b-key", "secret_key": "test-secret"}}
        )
        assert json.loads((await bad.receive()).data)["data"]["status"] == "unauthorized"
        await bad.close()

        _, a_order = await _call(broker, MAIN, "POST", "/v2/orders", json=_order("AAPL", 1, "a1"))
        assert [(u["event"], u["order"]["id"]) for u in await _updates(a_ws, 2)] == [
            ("new", a_order["id"]),
            ("fill", a_order["id"]),
        ]
        _, b_order = await _call(broker, B, "POST", "/v2/orders", json=_order("MSFT", 1, "b1"))
        assert [(u["event"], u["order"]["id"]) for u in await _updates(b_ws, 2)] == [
            ("new", b_order["id"]),
            ("fill", b_order["id"]),
        ]
        # Neither heard the other's: the next frame each gets is its own again.
        _, a2 = await _call(broker, MAIN, "POST", "/v2/orders", json=_order("AAPL", 1, "a2"))
        assert (await _updates(a_ws, 1))[0]["order"]["id"] == a2["id"]
        _, b2 = await _call(broker, B, "POST", "/v2/orders", json=_order("MSFT", 1, "b2"))
        assert (await _updates(b_ws, 1))[0]["order"]["id"] == b2["id"]
        await a_ws.close()
        await b_ws.close()


async def test_the_control_plane_acts_on_the_authenticating_account(
    broker: AlpacaBrokerServer, until: Until
) -> None:
    status, knobs = await _call(broker, B, "POST", "/_sim/orders", json={"reject_next": 1})
    assert (status, knobs["reject_next"]) == (200, 1)
    _, main_knobs = await _call(broker, MAIN, "GET", "/_sim/orders")
    assert main_knobs["reject_next"] == 0

    _, a_order = await _call(broker, MAIN, "POST", "/v2/orders", json=_order("AAPL", 1, "ok"))
    _, b_order = await _call(broker, B, "POST", "/v2/orders", json=_order("AAPL", 1, "no"))
    main, other = broker.accounts["main"].book, broker.accounts["b"].book
    await until(lambda: main.orders[a_order["id"]].status == "filled")
    await until(lambda: other.orders[b_order["id"]].status == "rejected")

    status, _ = await _call(broker, B, "POST", "/_sim/faults", json={"error_5xx_rate": 1.0})
    assert status == 200
    assert (await _call(broker, B, "GET", "/v2/account"))[0] == 500
    assert (await _call(broker, MAIN, "GET", "/v2/account"))[0] == 200
    _, main_faults = await _call(broker, MAIN, "GET", "/_sim/faults")
    assert main_faults["error_5xx_rate"] == 0.0
    await _call(broker, B, "POST", "/_sim/faults", json={"error_5xx_rate": 0.0})
    assert (await _call(broker, B, "GET", "/v2/account"))[0] == 200

    async with aiohttp.ClientSession() as raw:
        a_ws = await _listen(raw, broker, "test-key", "test-secret")
        b_ws = await _listen(raw, broker, "b-key", "b-secret")
        status, state = await _call(broker, B, "POST", "/_sim/stream", json={"drop": True})
        assert (status, state["dropped"]) == (200, 1)
        async with asyncio.timeout(2):
            await b_ws.receive()
        assert b_ws.closed
        assert not a_ws.closed
        _, state = await _call(broker, MAIN, "GET", "/_sim/stream")
        assert (state["connections"], state["listening"]) == (1, 1)
        await a_ws.close()


async def test_each_account_has_its_own_rate_limit_bucket() -> None:
    async with AlpacaBrokerServer(
        accounts={"b": ("b-key", "b-secret")}, rate_limit_per_minute=2
    ) as broker:
        assert [(await _call(broker, MAIN, "GET", "/v2/clock"))[0] for _ in range(3)] == [
            200,
            200,
            429,
        ]
        assert (await _call(broker, B, "GET", "/v2/clock"))[0] == 200


def test_accounts_must_differ_in_name_and_key() -> None:
    with pytest.raises(ValueError, match="key"):
        AlpacaBrokerServer(accounts={"b": ("test-key", "other")})
    with pytest.raises(ValueError, match="key"):
        AlpacaBrokerServer(accounts={"b": ("k", "s"), "c": ("k", "t")})


def test_a_main_entry_gives_the_main_account_its_pair() -> None:
    broker = AlpacaBrokerServer(accounts={"main": ("k", "s"), "b": ("test-key", "t")})
    assert [(a.name, a.key_id) for a in broker.accounts.values()] == [
        ("main", "k"),
        ("b", "test-key"),
    ]


def test_one_account_by_default() -> None:
    broker = AlpacaBrokerServer()
    assert list(broker.accounts) == ["main"]
    assert broker.accounts["main"].book is broker.book
