"""The broker simulator's control plane (``/_sim/faults``, ``/_sim/stream``) and its account
activities (``/v2/account/activities``), over real HTTP and WebSocket on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from tradewire.sim.broker.admin import is_loopback_peer
from tradewire.sim.broker.server import AlpacaBrokerServer
from tradewire.sim.market import NBBO
from tradewire.venues.alpaca.messages import FILL_ACTIVITIES_DECODER, FillActivity

AUTH = {"APCA-API-KEY-ID": "test-key", "APCA-API-SECRET-KEY": "test-secret"}
Until = Callable[..., Any]


@pytest.fixture
async def broker() -> AsyncIterator[AlpacaBrokerServer]:
    async with AlpacaBrokerServer() as server:
        server.market.publish_quote(NBBO("AAPL", 149.99, 100, 150.00, 100, 1))
        server.market.publish_quote(NBBO("MSFT", 400.00, 100, 400.04, 100, 1))
        yield server


@pytest.fixture
async def http(broker: AlpacaBrokerServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(broker.base_url, headers=AUTH) as session:
        yield session


async def _json(
    http: aiohttp.ClientSession, method: str, path: str, **kwargs: Any
) -> tuple[int, Any, bytes]:
    async with asyncio.timeout(5), http.request(method, path, **kwargs) as resp:
        raw = await resp.read()
        return resp.status, json.loads(raw) if raw else None, raw


# -- /_sim/faults ---------------------------------------------------------------------------


async def test_faults_get_reports_every_knob(http: aiohttp.ClientSession) -> None:
    status, knobs, _ = await _json(http, "GET", "/_sim/faults")
    assert status == 200
    assert knobs == {
        "latency_s": 0.0,
        "error_5xx_rate": 0.0,
        "error_status": 500,
        "drop_connection_after_requests": None,
        "stall_next_requests": 0,
        "accept_then_fail_next": 0,
        "accept_then_fail_mode": "504",
        "reject_next_with": None,
        "rate_limit_per_minute": 0,
        "seed": 0,
    }


async def test_faults_set_by_post_apply_to_the_next_request(
    http: aiohttp.ClientSession, broker: AlpacaBrokerServer
) -> None:
    status, knobs, _ = await _json(
        http, "POST", "/_sim/faults", json={"error_5xx_rate": 1, "error_status": 503}
    )
    assert status == 200
    assert knobs["error_5xx_rate"] == 1.0
    assert knobs["error_status"] == 503
    status, body, _ = await _json(http, "GET", "/v2/account")
    assert status == 503
    assert body["code"] == 50010000
    # The control plane itself is never faulted: the rate can be switched back off.
    status, knobs, _ = await _json(http, "POST", "/_sim/faults", json={"error_5xx_rate": 0})
    assert (status, knobs["error_5xx_rate"]) == (200, 0.0)
    status, _, _ = await _json(http, "GET", "/v2/account")
    assert status == 200

    await _json(http, "POST", "/_sim/faults", json={"reject_next_with": [403, 40310000, "nope"]})
    assert broker.faults.reject_next_with == (403, 40310000, "nope")
    status, body, _ = await _json(http, "GET", "/v2/account")
    assert (status, body["message"]) == (403, "nope")
    status, _, _ = await _json(http, "GET", "/v2/account")
    assert status == 200


@pytest.mark.parametrize(
    "body",
    [
        {"no_such_knob": 1},
        {"error_5xx_rate": 1.5},
        {"error_5xx_rate": "0.5"},
        {"latency_s": True},
        {"latency_s": -1},
        {"error_status": 404},
        {"stall_next_requests": 1.5},
        {"drop_connection_after_requests": 0},
        {"accept_then_fail_mode": "boom"},
        {"reject_next_with": [200, 1, "x"]},
        {"reject_next_with": [403, 1, "two\nlines"]},
        {"reject_next_with": "403"},
        {"latency_s": 0.1, "error_5xx_rate": 7},  # all or none: latency_s is not set either
        [1, 2],
        "not json {",
        "",
    ],
)
async def test_bad_fault_update_is_400_with_one_line_error_and_changes_nothing(
    http: aiohttp.ClientSession, broker: AlpacaBrokerServer, body: object
) -> None:
    before = broker.faults.knobs()
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    status, error, raw = await _json(http, "POST", "/_sim/faults", data=data)
    assert status == 400
    assert b"\n" not in raw.strip()
    assert isinstance(error["message"], str)
    assert error["message"]
    assert broker.faults.knobs() == before


async def test_faults_other_methods_are_405_not_500(http: aiohttp.ClientSession) -> None:
    status, error, _ = await _json(http, "DELETE", "/_sim/faults")
    assert status == 405
    assert "GET or POST" in error["message"]


async def test_admin_needs_auth_and_unknown_routes_are_404(
    broker: AlpacaBrokerServer, http: aiohttp.ClientSession
) -> None:
    async with aiohttp.ClientSession(broker.base_url) as anonymous:
        status, _, _ = await _json(anonymous, "GET", "/_sim/faults")
    assert status == 401
    status, error, _ = await _json(http, "GET", "/_sim/nothing-here")
    assert status == 404
    assert "/_sim/nothing-here" in error["message"]


async def test_registered_admin_routes_still_work(
    broker: AlpacaBrokerServer, http: aiohttp.ClientSession
) -> None:
    async def triggers(_: object) -> dict[str, object]:
        return {"count": 3}

    broker.admin_routes["triggers"] = triggers
    assert await _json(http, "GET", "/_sim/triggers") == (200, {"count": 3}, b'{"count": 3}')


@pytest.mark.parametrize(
    ("remote", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.1", False),
        ("192.168.1.20", False),
        ("0.0.0.0", False),
        ("::ffff:10.0.0.1", False),
        ("fe80::1%eth0", False),
        ("2001:db8::1", False),
        ("localhost", False),
        ("", False),
        (None, False),
    ],
)
def test_admin_answers_only_loopback_peers(remote: str | None, loopback: bool) -> None:
    assert is_loopback_peer(remote) is loopback


# -- /_sim/stream ---------------------------------------------------------------------------


async def _listen(
    session: aiohttp.ClientSession, broker: AlpacaBrokerServer
) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(broker.stream_url)
    await ws.send_json(
        {"action": "authenticate", "data": {"key_id": "test-key", "secret_key": "test-secret"}}
    )
    assert json.loads((await ws.receive()).data)["data"]["status"] == "authorized"
    await ws.send_json({"action": "listen", "data": {"streams": ["trade_updates"]}})
    assert json.loads((await ws.receive()).data)["stream"] == "listening"
    return ws


async def _stream_state(http: aiohttp.ClientSession) -> dict[str, Any]:
    status, state, _ = await _json(http, "GET", "/_sim/stream")
    assert status == 200
    return dict(state)


async def test_stream_drop_closes_every_trade_updates_connection(
    broker: AlpacaBrokerServer, http: aiohttp.ClientSession, until: Until
) -> None:
    async with aiohttp.ClientSession() as raw:
        async with asyncio.timeout(5):
            sockets = [await _listen(raw, broker) for _ in range(2)]
        status, state, _ = await _json(http, "POST", "/_sim/stream", json={"drop": True})
        assert status == 200
        assert state["dropped"] == 2
        for ws in sockets:
            async with asyncio.timeout(2):
                msg = await ws.receive()
            assert msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            )
            assert ws.closed
        state = await _stream_state(http)
        async with asyncio.timeout(5):
            while state["connections"]:
                state = await _stream_state(http)
        # Not blocked: a client reconnects at once.
        async with asyncio.timeout(5):
            again = await _listen(raw, broker)
        await again.close()


async def test_stream_block_refuses_reconnects_until_it_expires(
    broker: AlpacaBrokerServer, http: aiohttp.ClientSession
) -> None:
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as raw:
        async with asyncio.timeout(5):
            ws = await _listen(raw, broker)
        blocked_at = loop.time()
        status, state, _ = await _json(
            http, "POST", "/_sim/stream", json={"drop": True, "block_s": 0.6}
        )
        assert status == 200
        assert state["dropped"] == 1
        assert 0 < state["blocked_for_s"] <= 0.6
        async with asyncio.timeout(2):
            await ws.receive()
        assert ws.closed

        statuses: list[int] = []
        async with asyncio.timeout(5):
            while True:
                try:
                    again = await _listen(raw, broker)
                    break
                except aiohttp.WSServerHandshakeError as exc:
                    statuses.append(exc.status)
                await asyncio.sleep(0.05)
        assert statuses
        assert set(statuses) == {503}
        assert loop.time() - blocked_at >= 0.6
        await again.close()


async def test_stream_block_zero_lifts_a_block(
    broker: AlpacaBrokerServer, http: aiohttp.ClientSession
) -> None:
    await _json(http, "POST", "/_sim/stream", json={"block_s": 60})
    async with aiohttp.ClientSession() as raw:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            async with asyncio.timeout(5):
                await raw.ws_connect(broker.stream_url)
        assert refused.value.status == 503
        status, state, _ = await _json(http, "POST", "/_sim/stream", json={"block_s": 0})
        assert (status, state["blocked_for_s"]) == (200, 0.0)
        async with asyncio.timeout(5):
            ws = await _listen(raw, broker)
        await ws.close()


@pytest.mark.parametrize(
    "body", [{"drop": 1}, {"block_s": -1}, {"block_s": "5"}, {"block_s": 1e9}, {"x": True}, [1]]
)
async def test_bad_stream_control_is_400(http: aiohttp.ClientSession, body: object) -> None:
    status, error, raw = await _json(http, "POST", "/_sim/stream", json=body)
    assert status == 400
    assert b"\n" not in raw.strip()
    assert error["message"]


# -- /v2/account/activities -----------------------------------------------------------------


async def _order(http: aiohttp.ClientSession, **body: object) -> dict[str, Any]:
    status, order, _ = await _json(
        http, "POST", "/v2/orders", json={"time_in_force": "day", **body}
    )
    assert status == 200, order
    return dict(order)


async def _fills(
    http: aiohttp.ClientSession, path: str = "/v2/account/activities/FILL", **params: str
) -> list[FillActivity]:
    status, _, raw = await _json(http, "GET", path, params=params)
    assert status == 200, raw
    return FILL_ACTIVITIES_DECODER.decode(raw)


async def _pages(http: aiohttp.ClientSession, direction: str, **params: str) -> list[list[str]]:
    pages: list[list[str]] = []
    token: dict[str, str] = {}
    while True:
        page = await _fills(http, direction=direction, page_size="2", **token, **params)
        if not page:
            return pages
        assert len(page) <= 2
        pages.append([a.id for a in page])
        token = {"page_token": page[-1].id}


async def _trade_day(
    broker: AlpacaBrokerServer, http: aiohttp.ClientSession, until: Until
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Marketable orders (one of them partially filled, then completed) with nobody on the
    trade stream; returns the orders and the partially filled one."""
    orders = [
        await _order(http, symbol="AAPL", qty="1", side="buy", type="market"),
        await _order(http, symbol="AAPL", qty="2", side="buy", type="market"),
    ]
    broker.book.partial_fill_probability = 1.0
    partial = await _order(
        http, symbol="AAPL", qty="10", side="buy", type="limit", limit_price="150.00"
    )
    await until(lambda: broker.book.orders[partial["id"]].status == "partially_filled")
    broker.book.partial_fill_probability = 0.0
    broker.market.publish_quote(NBBO("AAPL", 149.98, 100, 149.99, 100, 2))
    await until(lambda: broker.book.orders[partial["id"]].status == "filled")
    orders.append(partial)
    orders.append(await _order(http, symbol="AAPL", qty="3", side="sell", type="market"))
    orders.append(await _order(http, symbol="MSFT", qty="2", side="sell", type="market"))
    await until(lambda: all(broker.book.orders[o["id"]].status == "filled" for o in orders))
    return orders, partial


async def test_activities_record_every_execution_once_in_order(
    broker: AlpacaBrokerServer, http: aiohttp.ClientSession, until: Until
) -> None:
    assert await _fills(http) == []
    orders, partial = await _trade_day(broker, http, until)
    executions = len(orders) + 1  # the partially filled order executed twice

    everything = await _fills(http, direction="asc")
    assert len(everything) == executions
    assert len({a.id for a in everything}) == executions
    times = [a.transaction_time for a in everything]
    assert times == sorted(times)
    assert len(set(times)) == executions
    for a in everything:
        assert a.activity_type == "FILL"
        stamp, _, tail = a.id.partition("::")
        assert len(stamp) == 17
        assert stamp.isdigit()
        assert tail
    # Each order's executions add up to it, the last one being "fill" with nothing left.
    for o in orders:
        mine = [a for a in everything if a.order_id == o["id"]]
        _, final, _ = await _json(http, "GET", f"/v2/orders/{o['id']}")
        assert sum(a.qty for a in mine) == Decimal(final["filled_qty"]) == Decimal(final["qty"])
        assert [a.cum_qty for a in mine] == [
            sum(a.qty for a in mine[: i + 1]) for i in range(len(mine))
        ]
        assert mine[-1].type == "fill"
        assert mine[-1].order_status == "filled"
        assert mine[-1].leaves_qty == 0
        assert Decimal(final["filled_avg_price"]) == (
            sum(a.qty * a.price for a in mine) / sum(a.qty for a in mine)
        )
    first, second = [a for a in everything if a.order_id == partial["id"]]
    assert (first.type, first.order_status) == ("partial_fill", "partially_filled")
    assert first.leaves_qty == 10 - first.qty
    assert second.price == Decimal("149.99")
    sides = [(a.symbol, a.side) for a in everything]
    assert sides[-2:] == [("AAPL", "sell"), ("MSFT", "sell_short")]
    # The order of execution: orders were placed one after another.
    assert [a.order_id for a in everything] == [
        orders[0]["id"],
        orders[1]["id"],
        partial["id"],
        partial["id"],
        orders[3]["id"],
        orders[4]["id"],
    ]
    # What the trade stream would have carried: the same executions, same ids.
    assert [a.id.partition("::")[2] for a in everything] == [
        f.execution_id for f in broker.book.fills
    ]

    # Pages of 2, both directions, each execution exactly once and in order.
    ids = [a.id for a in everything]
    asc = await _pages(http, "asc")
    desc = await _pages(http, "desc")
    assert [len(p) for p in asc] == [2, 2, 2]
    assert [i for p in asc for i in p] == ids
    assert [i for p in desc for i in p] == ids[::-1]
    # desc is the default; activity_types=FILL on the generic route is the same list.
    default = await _fills(http, "/v2/account/activities", activity_types="FILL")
    assert [a.id for a in default] == ids[::-1]
    assert await _fills(http, "/v2/account/activities", activity_types="DIV") == []
    assert [a.id for a in await _fills(http, "/v2/account/activities")] == ids[::-1]


async def test_activities_filter_on_transaction_time(
    broker: AlpacaBrokerServer, http: aiohttp.ClientSession, until: Until
) -> None:
    await _trade_day(broker, http, until)
    everything = await _fills(http, direction="asc")
    pivot = everything[2].transaction_time
    later = await _fills(http, direction="asc", after=pivot)
    assert [a.id for a in later] == [a.id for a in everything[3:]]
    earlier = await _fills(http, direction="asc", until=pivot)
    assert [a.id for a in earlier] == [a.id for a in everything[:2]]
    window = await _fills(
        http, after=everything[0].transaction_time, until=everything[-1].transaction_time
    )
    assert [a.id for a in window] == [a.id for a in everything[1:-1]][::-1]
    # Paging composes with a filter: pages of 2 after the pivot.
    paged = await _pages(http, "asc", after=pivot)
    assert [i for p in paged for i in p] == [a.id for a in everything[3:]]
    # date: the US/Eastern day of the executions (the id's day) and any other day.
    today = everything[0].id[:4] + "-" + everything[0].id[4:6] + "-" + everything[0].id[6:8]
    assert len(await _fills(http, date=today)) == len(everything)
    assert await _fills(http, date="2001-01-02") == []


@pytest.mark.parametrize(
    "params",
    [
        {"direction": "up"},
        {"page_size": "0"},
        {"page_size": "two"},
        {"page_token": "20260102093000000::unknown"},
        {"after": "yesterday"},
        {"date": "2026-13-45"},
    ],
)
async def test_bad_activity_queries_are_422(
    http: aiohttp.ClientSession, params: dict[str, str]
) -> None:
    status, error, _ = await _json(http, "GET", "/v2/account/activities/FILL", params=params)
    assert status == 422
    assert error["code"] == 40010001


async def test_activity_page_size_is_capped_at_100(
    broker: AlpacaBrokerServer, http: aiohttp.ClientSession, until: Until
) -> None:
    for _ in range(105):
        await _order(http, symbol="AAPL", qty="1", side="buy", type="market")
    await until(lambda: len(broker.book.fills) == 105)
    assert len(await _fills(http, page_size="500")) == 100
    assert len(await _fills(http)) == 100
    rest = await _fills(http, page_token=(await _fills(http))[-1].id)
    assert len(rest) == 5


# -- /_sim/requests -------------------------------------------------------------------------


async def test_requests_lists_every_order_post_duplicates_too(
    http: aiohttp.ClientSession,
) -> None:
    order = {"symbol": "AAPL", "qty": "1", "side": "buy", "type": "limit"}
    order |= {"time_in_force": "day", "limit_price": "100", "client_order_id": "dup-1"}
    first, _, _ = await _json(http, "POST", "/v2/orders", json=order)
    second, _, _ = await _json(http, "POST", "/v2/orders", json=order)
    assert (first, second) == (200, 422)
    status, body, _ = await _json(http, "GET", "/_sim/requests")
    assert status == 200
    assert [r["client_order_id"] for r in body["orders"]] == ["dup-1", "dup-1"]
    assert body["orders"][0]["at"] <= body["orders"][1]["at"]
    status, _, _ = await _json(http, "POST", "/_sim/requests", json={})
    assert status == 405
