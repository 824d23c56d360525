"""Alpaca-compatible paper broker on loopback: REST ``/v2`` and the trade_updates stream.

alpaca-py's ``TradingClient(url_override=...)`` and ``TradingStream(url_override=...)`` use
it unchanged (tests/conformance). Orders fill against the simulator's :class:`MarketState`
through :class:`~tradewire.sim.matching.SimBook`; faults from
:class:`~tradewire.sim.models.FaultModel` are applied per request.

Every execution is also kept as an account activity (``GET /v2/account/activities/FILL``),
whether or not a client watched the stream. The control plane under ``/_sim/`` (loopback
peers only) reads and sets the fault knobs (``/_sim/faults``) and drops or blocks the
trade_updates connections (``/_sim/stream``).

aiohttp serves REST and WebSocket on one port, like the real host. For tick-to-trade the
arrival of each request is stamped when its first bytes are read off the socket
(``data_received``), not when aiohttp has parsed it: :class:`_ArrivalStamp` sits between
the transport and aiohttp's protocol for that.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from aiohttp import WSMsgType, web

from tradewire.sim import broker_wire as wire
from tradewire.sim.market import NBBO, MarketState
from tradewire.sim.matching import EASTERN, Execution, FillRecord, OrderError, SimBook, SimOrder
from tradewire.sim.models import FaultKnobError, FaultModel

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNAUTHORIZED = {"code": 40110000, "message": "request is not authorized"}
ACTIVITIES_PAGE_SIZE = 100  # Alpaca's default and maximum page_size
STREAM_BLOCK_MAX_S = 3600.0


class AdminError(Exception):
    """An ``/_sim/`` request the simulator refuses: HTTP status and a one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = " ".join(message.split())


def is_loopback_peer(remote: str | None) -> bool:
    """True for a loopback peer address (``127.0.0.0/8``, ``::1``, ``::ffff:127.x``).

    The ``/_sim/`` endpoints change what every client of the simulator sees, so they answer
    only to the machine the simulator runs on, whatever address it listens on.
    """
    if not remote:
        return False
    try:
        address = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


class _RateLimiter:
    # Token bucket per key; the real limit is 200/min per key (reference section 7).
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.tokens = float(per_minute)
        self.updated = time.monotonic()

    def take(self) -> tuple[bool, dict[str, str]]:
        now = time.monotonic()
        self.tokens = min(
            self.per_minute, self.tokens + (now - self.updated) * self.per_minute / 60
        )
        self.updated = now
        ok = self.tokens >= 1
        if ok:
            self.tokens -= 1
        # Reset = when the next request may pass (a bucket has no fixed window).
        wait = 0.0 if self.tokens >= 1 else (1 - self.tokens) * 60 / self.per_minute
        headers = {
            "X-Ratelimit-Limit": str(self.per_minute),
            "X-Ratelimit-Remaining": str(int(self.tokens)),
            "X-Ratelimit-Reset": str(int(time.time() + wait + 0.999)),
        }
        if not ok:
            headers["Retry-After"] = str(max(1, int(wait + 0.999)))
        return ok, headers


class _ArrivalStamp(asyncio.Protocol):
    """Forwards to aiohttp's protocol; notes when each request's first bytes arrived.

    A connection's stamp is taken by the first ``data_received`` after the previous
    request's stamp was consumed, so with one request at a time per connection (what every
    Alpaca client does) it is that request's arrival.
    """

    __slots__ = ("_inner", "_stamps", "_transport")

    def __init__(self, inner: asyncio.Protocol, stamps: dict[object, int]) -> None:
        self._inner = inner
        self._stamps = stamps
        self._transport: object = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        stamps = self._stamps
        if self._transport not in stamps:
            stamps[self._transport] = time.monotonic_ns()
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stamps.pop(self._transport, None)
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class AlpacaBrokerServer:
    """A paper account behind the Alpaca Trading API v2 and its trade_updates stream."""

    def __init__(
        self,
        market: MarketState | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        key_id: str = "test-key",
        secret_key: str = "test-secret",  # noqa: S107 - the simulator's documented test secret
        faults: FaultModel | None = None,
        rate_limit_per_minute: int | None = None,
        starting_cash: Decimal = Decimal(100000),
        partial_fill_probability: float = 0.0,
        seed: int = 0,
        arrival_sink: Callable[[str, int], None] | None = None,
        binary_frames: bool = True,
    ) -> None:
        self.market = market if market is not None else MarketState()
        self.host = host
        self.port = port
        self._key_id = key_id
        self._secret = secret_key
        self.faults = faults or FaultModel()
        self.book = SimBook(
            starting_cash=starting_cash,
            partial_fill_probability=partial_fill_probability,
            seed=seed,
        )
        self.arrival_sink = arrival_sink
        self.binary_frames = binary_frames
        self.requests_seen: list[tuple[str, str]] = []
        self._limiter = _RateLimiter(rate_limit_per_minute) if rate_limit_per_minute else None
        self._streams: set[web.WebSocketResponse] = set()
        self._listening: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None
        self._arrivals: dict[object, int] = {}
        # Extra JSON endpoints under /_sim/ (simulator-only, same auth as /v2, loopback
        # peers only, never subject to faults or the rate limit). A route may raise
        # AdminError for a 4xx answer.
        self.admin_routes: dict[str, Callable[[web.Request], Awaitable[Any]]] = {
            "faults": self._admin_faults,
            "stream": self._admin_stream,
        }
        self._stream_blocked_until = 0.0  # loop.time() before which /stream refuses upgrades
        self._stalled: list[asyncio.Future[None]] = []
        self._sends: set[asyncio.Task[None]] = set()
        self.market.on_quote(self._on_quote)

    def __repr__(self) -> str:
        return f"AlpacaBrokerServer(host={self.host!r}, port={self.port})"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def stream_url(self) -> str:
        return f"ws://{self.host}:{self.port}/stream"

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        r.add_get("/v2/account", self._account)
        r.add_get("/v2/account/activities", self._activities)
        r.add_get("/v2/account/activities/{activity_type}", self._activities)
        r.add_get("/v2/clock", self._clock)
        r.add_get("/v2/calendar", self._calendar)
        r.add_get("/v2/assets", self._assets)
        r.add_get("/v2/assets/{symbol:.+}", self._asset)
        r.add_post("/v2/orders", self._post_order)
        r.add_get("/v2/orders", self._list_orders)
        r.add_delete("/v2/orders", self._cancel_all)
        r.add_get("/v2/orders:by_client_order_id", self._order_by_client_id)
        r.add_get("/v2/orders/{order_id}", self._get_order)
        r.add_patch("/v2/orders/{order_id}", self._replace_order)
        r.add_delete("/v2/orders/{order_id}", self._cancel_order)
        r.add_get("/v2/positions", self._positions)
        r.add_delete("/v2/positions", self._close_all)
        r.add_get("/v2/positions/{symbol:.+}", self._position)
        r.add_delete("/v2/positions/{symbol:.+}", self._close_position)
        r.add_get("/stream", self._stream)
        r.add_get("/stream/", self._stream)
        r.add_route("*", "/_sim/{name}", self._admin)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1)
        await self._runner.setup()
        server = self._runner.server
        assert server is not None
        arrivals = self._arrivals
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _ArrivalStamp(server(), arrivals), self.host, self.port, reuse_address=True
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        for fut in self._stalled:
            if not fut.done():
                fut.cancel()
        for ws in list(self._streams):
            await ws.close()
        if self._server is not None:
            self._server.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._server = None

    async def __aenter__(self) -> AlpacaBrokerServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def close_streams(self) -> None:
        """Drop every trade_updates connection (for reconnect tests)."""
        for ws in list(self._streams):
            transport = ws._req.transport if ws._req is not None else None
            if transport is not None:
                transport.abort()

    # -- middleware: auth, rate limit, faults --------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/stream"):
            return await handler(request)
        arrival_ns = self._arrivals.pop(request.transport, None) or time.monotonic_ns()
        self.requests_seen.append((request.method, request.path))
        if request.path.startswith("/_sim/"):
            # Control plane: loopback only, authenticated, and never faulted or throttled
            # (a test must be able to switch a 100% error rate back off).
            if not is_loopback_peer(request.remote):
                return web.json_response(
                    wire.error_json(40310000, "simulator admin is loopback-only"), status=403
                )
            if not self._authorized(request):
                return web.json_response(UNAUTHORIZED, status=401)
            return await handler(request)
        is_order_post = request.method == "POST" and request.path == "/v2/orders"
        if is_order_post and self.arrival_sink is not None:
            body = await request.read()
            self.arrival_sink(_client_order_id(body), arrival_ns)
        if not self._authorized(request):
            return web.json_response(UNAUTHORIZED, status=401)
        headers: dict[str, str] = {}
        if self._limiter is not None:
            ok, headers = self._limiter.take()
            if not ok:
                return web.json_response(
                    {"code": 42910000, "message": "rate limit exceeded"},
                    status=429,
                    headers=headers,
                )
        faults = self.faults
        if faults.take_stall():
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._stalled.append(fut)
            await fut  # never answered; cancelled when the server stops
        if faults.take_drop():
            _drop(request)
            return web.Response(status=204)
        reject = faults.take_reject()
        if reject is not None:
            status, code, message = reject
            return web.json_response(wire.error_json(code, message), status=status)
        if faults.take_5xx():
            return web.json_response(
                wire.error_json(50010000, "internal server error"), status=faults.error_status
            )
        accept_then_fail = is_order_post and faults.take_accept_then_fail()
        try:
            response = await handler(request)
        except OrderError as exc:
            response = web.json_response(
                wire.error_json(exc.code, exc.message, **exc.extra), status=exc.status
            )
        if faults.latency_s > 0:
            await asyncio.sleep(faults.latency_s)
        if accept_then_fail:
            if faults.accept_then_fail_mode == "drop":
                _drop(request)
                return web.Response(status=204)
            return web.json_response(wire.error_json(50410000, "gateway timeout"), status=504)
        response.headers.update(headers)
        return response

    async def _admin(self, request: web.Request) -> web.Response:
        route = self.admin_routes.get(request.match_info["name"])
        if route is None:
            return _admin_error(404, f"no such simulator endpoint: {request.path}")
        try:
            return web.json_response(await route(request))
        except AdminError as exc:
            return _admin_error(exc.status, exc.message)

    async def _admin_faults(self, request: web.Request) -> dict[str, object]:
        """``GET``: the fault knobs. ``POST {knob: value, ...}``: set those, all or none."""
        if request.method == "POST":
            try:
                self.faults.update(await _admin_body(request))
            except FaultKnobError as exc:
                raise AdminError(400, str(exc)) from None
        elif request.method != "GET":
            raise AdminError(405, f"method {request.method} not allowed: use GET or POST")
        return self.faults.knobs()

    async def _admin_stream(self, request: web.Request) -> dict[str, object]:
        """``POST {"drop": true}``: close every trade_updates connection now.
        ``POST {"block_s": N}``: refuse new trade_updates connections (HTTP 503 on the
        upgrade) for N seconds from now; 0 lifts a block. ``GET``: the stream state."""
        dropped = 0
        if request.method == "POST":
            body = await _admin_body(request)
            unknown = sorted(set(body) - {"drop", "block_s"})
            if unknown:
                raise AdminError(400, f"unknown stream control: {unknown[0][:80]!r}")
            drop = body.get("drop", False)
            if not isinstance(drop, bool):
                raise AdminError(400, "drop: expected true or false")
            block_s = body.get("block_s")
            if block_s is not None:
                if (
                    isinstance(block_s, bool)
                    or not isinstance(block_s, int | float)
                    or not math.isfinite(block_s)
                    or not 0 <= block_s <= STREAM_BLOCK_MAX_S
                ):
                    raise AdminError(
                        400, f"block_s: expected a number of seconds in [0, {STREAM_BLOCK_MAX_S:g}]"
                    )
                # Block before dropping, so no client reconnects in between.
                self._stream_blocked_until = asyncio.get_running_loop().time() + block_s
            if drop:
                dropped = len(self._streams)
                self.close_streams()
        elif request.method != "GET":
            raise AdminError(405, f"method {request.method} not allowed: use GET or POST")
        return {
            "connections": len(self._streams),
            "listening": len(self._listening),
            "dropped": dropped,
            "blocked_for_s": self._stream_block_remaining(),
        }

    def _stream_block_remaining(self) -> float:
        remaining = self._stream_blocked_until - asyncio.get_running_loop().time()
        return round(max(0.0, remaining), 3)

    def _authorized(self, request: web.Request) -> bool:
        key = request.headers.get("APCA-API-KEY-ID")
        secret = request.headers.get("APCA-API-SECRET-KEY")
        if key is not None or secret is not None:
            return key == self._key_id and secret == self._secret
        auth = request.headers.get("Authorization", "")
        return auth == f"Bearer {self._secret}"

    # -- REST handlers -------------------------------------------------------------------

    async def _account(self, request: web.Request) -> web.Response:
        return web.json_response(wire.account_json(self.book))

    async def _activities(self, request: web.Request) -> web.Response:
        """Account activities; the simulator's only activity type is ``FILL``.

        ``/v2/account/activities/{type}`` or ``?activity_types=A,B``; ``date`` (that US/Eastern
        day), ``after``/``until`` (exclusive bounds on transaction_time), ``direction``
        (``desc`` by default), ``page_size`` (100 by default and at most), ``page_token``
        (an item's ``id``: the page continues strictly after it in that direction).
        """
        q = request.query
        types = request.match_info.get("activity_type") or q.get("activity_types") or "FILL"
        if "FILL" not in {t.strip().upper() for t in types.split(",")}:
            return web.json_response([])
        direction = q.get("direction", "desc")
        if direction not in ("asc", "desc"):
            raise OrderError(422, 40010001, f"invalid direction: {direction[:40]!r}")
        page_size = _page_size(q.get("page_size"))
        day = _activity_date(q.get("date"))
        after = _activity_time(q.get("after"), "after")
        until = _activity_time(q.get("until"), "until")
        fills = self.book.fills
        start = None
        token = q.get("page_token")
        if token:
            start = self.book.fill_index.get(token)
            if start is None:
                raise OrderError(422, 40010001, f"invalid page_token: {token[:80]!r}")
        if direction == "asc":
            order: range = range(0 if start is None else start + 1, len(fills))
        else:
            order = range(len(fills) - 1 if start is None else start - 1, -1, -1)
        page: list[dict[str, Any]] = []
        for i in order:
            fill = fills[i]
            if _activity_matches(fill, day, after, until):
                page.append(wire.fill_activity_json(fill))
                if len(page) >= page_size:
                    break
        return web.json_response(page)

    async def _clock(self, request: web.Request) -> web.Response:
        return web.json_response(wire.clock_json())

    async def _calendar(self, request: web.Request) -> web.Response:
        return web.json_response(wire.calendar_json(datetime.now(UTC)))

    async def _assets(self, request: web.Request) -> web.Response:
        symbols = sorted(set(self.market.quotes) | set(self.book.positions))
        return web.json_response([wire.asset_json(s) for s in symbols])

    async def _asset(self, request: web.Request) -> web.Response:
        return web.json_response(wire.asset_json(request.match_info["symbol"].upper()))

    async def _post_order(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        order = self.book.submit(body)
        response = web.json_response(wire.order_json(order, self.book))
        asyncio.get_running_loop().call_soon(self._activate, order)
        return response

    async def _list_orders(self, request: web.Request) -> web.Response:
        q = request.query
        status = q.get("status", "open")
        limit = min(int(q.get("limit", "50")), 500)
        symbols = {s.strip().upper() for s in q.get("symbols", "").split(",") if s.strip()}
        after = _parse_time(q.get("after"))
        until = _parse_time(q.get("until"))
        # nested=true rolls bracket legs up into their parent; otherwise legs list on their own.
        orders = self.book.open_orders() if status == "open" else list(self.book.orders.values())
        if _bool(q.get("nested")):
            orders = [o for o in orders if o.parent_id is None]
        if status == "open":
            orders = [o for o in orders if o.status not in wire_terminal()]
        elif status == "closed":
            orders = [o for o in orders if o.status in wire_terminal()]
        if symbols:
            orders = [o for o in orders if o.symbol in symbols]
        if q.get("side"):
            orders = [o for o in orders if o.side == q["side"]]
        if after is not None:
            orders = [o for o in orders if o.submitted_at > after]
        if until is not None:
            orders = [o for o in orders if o.submitted_at < until]
        orders.sort(key=lambda o: o.submitted_at, reverse=q.get("direction", "desc") != "asc")
        return web.json_response([wire.order_json(o, self.book) for o in orders[:limit]])

    async def _order_by_client_id(self, request: web.Request) -> web.Response:
        cid = request.query.get("client_order_id", "")
        order = self.book.orders_by_client_id.get(cid)
        if order is None:
            raise OrderError(404, 40410000, f"order not found for {cid}")
        return web.json_response(wire.order_json(order, self.book))

    async def _get_order(self, request: web.Request) -> web.Response:
        order_id = _uuid_arg(request.match_info["order_id"])
        return web.json_response(wire.order_json(self.book.get(order_id), self.book))

    async def _replace_order(self, request: web.Request) -> web.Response:
        order_id = _uuid_arg(request.match_info["order_id"])
        body = await _json_body(request)
        order, execs = self.book.replace(order_id, body)
        self._publish_soon(execs)
        return web.json_response(wire.order_json(order, self.book))

    async def _cancel_order(self, request: web.Request) -> web.Response:
        order_id = _uuid_arg(request.match_info["order_id"])
        self._publish_soon(self.book.cancel(order_id))
        return web.Response(status=204)

    async def _cancel_all(self, request: web.Request) -> web.Response:
        results = []
        for order, execs in self.book.cancel_all():
            self._publish_soon(execs)
            results.append(
                {"id": order.id, "status": 200, "body": wire.order_json(order, self.book)}
            )
        return web.json_response(results, status=207)

    async def _positions(self, request: web.Request) -> web.Response:
        book = self.book
        return web.json_response([wire.position_json(book, p) for p in book.positions.values()])

    async def _position(self, request: web.Request) -> web.Response:
        pos = self.book.positions.get(request.match_info["symbol"].upper())
        if pos is None:
            raise OrderError(404, 40410000, "position does not exist")
        return web.json_response(wire.position_json(self.book, pos))

    async def _close_position(self, request: web.Request) -> web.Response:
        symbol = request.match_info["symbol"].upper()
        order = self._close(symbol, request.query.get("qty"), request.query.get("percentage"))
        return web.json_response(wire.order_json(order, self.book))

    async def _close_all(self, request: web.Request) -> web.Response:
        if _bool(request.query.get("cancel_orders")):
            for _, execs in self.book.cancel_all():
                self._publish_soon(execs)
        results = []
        for symbol in list(self.book.positions):
            try:
                order = self._close(symbol, None, None)
                results.append(
                    {"symbol": symbol, "status": 200, "body": wire.order_json(order, self.book)}
                )
            except OrderError as exc:
                results.append(
                    {
                        "symbol": symbol,
                        "status": exc.status,
                        "body": wire.error_json(exc.code, exc.message),
                    }
                )
        return web.json_response(results, status=207)

    def _close(self, symbol: str, qty_arg: str | None, pct_arg: str | None) -> SimOrder:
        pos = self.book.positions.get(symbol)
        if pos is None:
            raise OrderError(404, 40410000, "position does not exist")
        if qty_arg and pct_arg:
            raise OrderError(422, 40010001, "qty and percentage are mutually exclusive")
        qty = abs(pos.qty)
        if qty_arg:
            qty = Decimal(qty_arg)
        elif pct_arg:
            qty = (abs(pos.qty) * Decimal(pct_arg) / 100).quantize(Decimal("0.000000001"))
        if qty <= 0 or qty > abs(pos.qty):
            raise OrderError(
                403,
                40310000,
                f"insufficient qty available for order (requested: {qty}, available: {abs(pos.qty)})",
            )
        side = "sell" if pos.qty > 0 else "buy"
        order = self.book.submit(
            {
                "symbol": symbol,
                "qty": str(qty),
                "side": side,
                "type": "market",
                "time_in_force": "day",
            }
        )
        asyncio.get_running_loop().call_soon(self._activate, order)
        return order

    # -- trade_updates stream ------------------------------------------------------------

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        if self._stream_blocked_until > asyncio.get_running_loop().time():
            # POST /_sim/stream {"block_s": N}: the upgrade is refused as by an overloaded host.
            return web.json_response(
                wire.error_json(50300000, "trade stream unavailable (simulated)"), status=503
            )
        ws = web.WebSocketResponse(autoping=True, heartbeat=None)
        await ws.prepare(request)
        self._streams.add(ws)
        authed = False
        try:
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                try:
                    data = json.loads(msg.data)
                except (ValueError, TypeError):
                    await self._send(
                        ws, {"stream": "error", "data": {"error_message": "invalid syntax"}}
                    )
                    continue
                action = data.get("action") if isinstance(data, dict) else None
                payload = data.get("data") if isinstance(data, dict) else None
                payload = payload if isinstance(payload, dict) else {}
                if action == "authenticate":
                    authed = (
                        payload.get("key_id") == self._key_id
                        and payload.get("secret_key") == self._secret
                    )
                    reply: dict[str, Any] = {
                        "status": "authorized" if authed else "unauthorized",
                        "action": "authenticate",
                    }
                    if not authed:
                        reply["message"] = "access key verification failed"
                    await self._send(ws, {"stream": "authorization", "data": reply})
                elif action == "listen":
                    if not authed:
                        await self._send(
                            ws,
                            {
                                "stream": "authorization",
                                "data": {"status": "unauthorized", "action": "listen"},
                            },
                        )
                        continue
                    streams = [s for s in payload.get("streams", []) if s == "trade_updates"]
                    if streams:
                        self._listening.add(ws)
                    else:
                        self._listening.discard(ws)
                    await self._send(ws, {"stream": "listening", "data": {"streams": streams}})
        finally:
            self._streams.discard(ws)
            self._listening.discard(ws)
        return ws

    async def _send(self, ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
        payload = json.dumps(message, separators=(",", ":"))
        if self.binary_frames:
            await ws.send_bytes(payload.encode())
        else:
            await ws.send_str(payload)

    def _publish_soon(self, execs: list[Execution]) -> None:
        # Events follow the HTTP response, as on the real venue; never inside it.
        if execs:
            asyncio.get_running_loop().call_soon(self._publish, execs)

    def _activate(self, order: SimOrder) -> None:
        self._publish(self.book.activate(order))

    def _publish(self, execs: list[Execution]) -> None:
        if not self._listening:
            return
        loop = asyncio.get_running_loop()
        for ex in execs:
            message = wire.trade_update_json(ex, self.book)
            for ws in list(self._listening):
                if not ws.closed:
                    task = loop.create_task(self._send(ws, message))
                    self._sends.add(task)
                    task.add_done_callback(self._sends.discard)

    def _on_quote(self, nbbo: NBBO) -> None:
        execs = self.book.on_quote(nbbo)
        if execs:
            self._publish(execs)


def wire_terminal() -> frozenset[str]:
    from tradewire.sim.matching import TERMINAL

    return TERMINAL


def _client_order_id(body: bytes) -> str:
    # Cheap extraction for the arrival stamp; full validation happens in the handler.
    key = b'"client_order_id"'
    i = body.find(key)
    if i < 0:
        return ""
    start = body.find(b'"', body.find(b":", i + len(key)) + 1)
    end = body.find(b'"', start + 1)
    return body[start + 1 : end].decode(errors="replace") if start >= 0 and end > start else ""


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        raise OrderError(400, 40010000, "request body format is invalid") from None
    if not isinstance(body, dict):
        raise OrderError(400, 40010000, "request body format is invalid")
    return body


def _uuid_arg(value: str) -> str:
    import uuid

    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise OrderError(422, 40010001, "order_id is missing") from None


def _bool(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.lower() == "true"


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise OrderError(422, 40010001, f"invalid timestamp: {value}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _admin_error(status: int, message: str) -> web.Response:
    return web.json_response(wire.error_json(status * 100000, message), status=status)


async def _admin_body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise AdminError(400, "request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise AdminError(400, "request body must be a JSON object")
    return body


def _page_size(value: str | None) -> int:
    if value is None or value == "":
        return ACTIVITIES_PAGE_SIZE
    try:
        size = int(value)
    except ValueError:
        size = 0
    if size < 1:
        raise OrderError(422, 40010001, f"invalid page_size: {value[:40]!r}")
    return min(size, ACTIVITIES_PAGE_SIZE)


def _is_plain_date(value: str) -> bool:
    return len(value) == 10 and value[4] == "-" and value[7] == "-"


def _activity_date(value: str | None) -> date | None:
    # ``date``: a day (US/Eastern, the trading day) or a timestamp within it.
    if not value:
        return None
    if _is_plain_date(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise OrderError(422, 40010001, f"invalid date: {value[:40]!r}") from None
    parsed = _parse_time(value)
    assert parsed is not None
    return parsed.astimezone(EASTERN).date()


def _activity_time(value: str | None, name: str) -> datetime | None:
    # A bare day for after/until means that day's start, US/Eastern.
    if value and _is_plain_date(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise OrderError(422, 40010001, f"invalid {name}: {value[:40]!r}") from None
        return datetime(day.year, day.month, day.day, tzinfo=EASTERN)
    return _parse_time(value)


def _activity_matches(
    fill: FillRecord, day: date | None, after: datetime | None, until: datetime | None
) -> bool:
    at = fill.transaction_time
    if after is not None and at <= after:
        return False
    if until is not None and at >= until:
        return False
    return day is None or at.astimezone(EASTERN).date() == day


def _drop(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()
