"""Alpaca-compatible paper broker on loopback: REST ``/v2`` and the trade_updates stream.

alpaca-py's ``TradingClient(url_override=...)`` and ``TradingStream(url_override=...)`` use
it unchanged (tests/conformance). Orders fill against the simulator's :class:`MarketState`
through :class:`~tradewire.sim.broker.matching.SimBook`; faults from
:class:`~tradewire.sim.models.FaultModel` are applied per request.

Every execution is also kept as an account activity (``GET /v2/account/activities/FILL``),
whether or not a client watched the stream. The control plane under ``/_sim/`` (loopback
peers only) reads and sets the fault knobs (``/_sim/faults``) and drops or blocks the
trade_updates connections (``/_sim/stream``); ``/_sim/requests`` lists every order POST.

aiohttp serves REST and WebSocket on one port, like the real host. For tick-to-trade the
arrival of each request is stamped when its first bytes are read off the socket
(``data_received``), not when aiohttp has parsed it: :class:`_ArrivalStamp` sits between
the transport and aiohttp's protocol for that.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

from aiohttp import web

from tradewire.sim.broker import wire
from tradewire.sim.broker.admin import AdminRoutes, is_loopback_peer
from tradewire.sim.broker.crypto import crypto_assets
from tradewire.sim.broker.lifecycle import VenueScript
from tradewire.sim.broker.matching import SimBook
from tradewire.sim.broker.option_routes import OptionRoutes
from tradewire.sim.broker.orders import (
    OrderError,
)
from tradewire.sim.broker.rest import RestRoutes
from tradewire.sim.broker.stream import StreamRoutes
from tradewire.sim.market import MarketState
from tradewire.sim.models import FaultModel
from tradewire.sim.option_chain import OptionChains

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNAUTHORIZED = {"code": 40110000, "message": "request is not authorized"}


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


class AlpacaBrokerServer(RestRoutes, OptionRoutes, StreamRoutes, AdminRoutes):
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
        crypto: Sequence[str] = (),
        crypto_fee_bps: float = 0.0,
        option_chains: OptionChains | None = None,
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
            crypto=crypto_assets(crypto),
            crypto_fee_rate=Decimal(str(crypto_fee_bps)) / 10_000,
            option_chains=option_chains,
        )
        # The listed pairs are assets before their first quote, as the configured stocks are.
        self.market.listed.update(self.book.crypto)
        self.arrival_sink = arrival_sink
        self.binary_frames = binary_frames
        self.requests_seen: list[tuple[str, str]] = []
        # Every order POST that reached the simulator, duplicates and refusals too:
        # ``GET /_sim/requests`` (a failover test's "no client_order_id sent twice").
        self.order_requests: list[dict[str, object]] = []
        if rate_limit_per_minute:
            self.faults.rate_limit_per_minute = rate_limit_per_minute
        self._limiter: _RateLimiter | None = None
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
            "orders": self._admin_orders,
            "options": self._admin_options,
            "requests": self._admin_requests,
        }
        self.script = VenueScript()  # the rare trade_updates events (/_sim/orders)
        self._stream_blocked_until = 0.0  # loop.time() before which /stream refuses upgrades
        self._stalled: list[asyncio.Future[None]] = []
        self._sends: set[asyncio.Task[None]] = set()
        self.market.on_quote(self._on_quote)
        # Options (issue 24): expiries settled so far, and the quote-driven expiry clock.
        self.settled_expiries = set()
        self._expiry_watch = (-1, None, None)
        if option_chains is not None:
            self.market.on_quote(self._option_clock)

    def __repr__(self) -> str:
        return f"AlpacaBrokerServer(host={self.host!r}, port={self.port})"

    def set_rate_limit(self, per_minute: int | None, *, tokens: float | None = None) -> None:
        """Start or lift the per-key rate limit while running, so a test can arrange its
        state first and rate-limit only what it measures. ``tokens``: what the bucket holds
        now (full by default; 0 is a key another process has just used up). The same knob
        as ``rate_limit_per_minute`` in ``/_sim/faults``."""
        self.faults.rate_limit_per_minute = per_minute or 0
        self._limiter = _RateLimiter(per_minute) if per_minute else None
        if self._limiter is not None and tokens is not None:
            self._limiter.tokens = min(float(per_minute or 0), max(0.0, tokens))

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
        r.add_post("/v2/positions/{symbol}/exercise", self._exercise)
        r.add_get("/v2/positions/{symbol:.+}", self._position)
        r.add_delete("/v2/positions/{symbol:.+}", self._close_position)
        r.add_get("/v2/options/contracts", self._option_contracts)
        r.add_get("/v2/options/contracts/{symbol_or_id}", self._option_contract)
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
        if is_order_post:
            body = await request.read()
            cid = _client_order_id(body)
            self.order_requests.append({"client_order_id": cid, "at": time.time()})
            if self.arrival_sink is not None:
                self.arrival_sink(cid, arrival_ns)
        if not self._authorized(request):
            return web.json_response(UNAUTHORIZED, status=401)
        headers: dict[str, str] = {}
        limiter = self._rate_limiter()
        if limiter is not None:
            ok, headers = limiter.take()
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

    def _rate_limiter(self) -> _RateLimiter | None:
        # The limit is a fault knob (it may change at run time); a new limit starts full.
        per_minute = self.faults.rate_limit_per_minute
        if not per_minute:
            self._limiter = None
        elif self._limiter is None or self._limiter.per_minute != per_minute:
            self._limiter = _RateLimiter(per_minute)
        return self._limiter

    def _authorized(self, request: web.Request) -> bool:
        key = request.headers.get("APCA-API-KEY-ID")
        secret = request.headers.get("APCA-API-SECRET-KEY")
        if key is not None or secret is not None:
            return key == self._key_id and secret == self._secret
        auth = request.headers.get("Authorization", "")
        return auth == f"Bearer {self._secret}"

    # -- REST handlers -------------------------------------------------------------------


def _client_order_id(body: bytes) -> str:
    # Cheap extraction for the arrival stamp; full validation happens in the handler.
    key = b'"client_order_id"'
    i = body.find(key)
    if i < 0:
        return ""
    start = body.find(b'"', body.find(b":", i + len(key)) + 1)
    end = body.find(b'"', start + 1)
    return body[start + 1 : end].decode(errors="replace") if start >= 0 and end > start else ""


def _drop(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()
