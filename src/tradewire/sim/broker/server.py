"""Alpaca-compatible paper broker on loopback: REST ``/v2`` and the trade_updates stream.

alpaca-py's ``TradingClient(url_override=...)`` and ``TradingStream(url_override=...)`` use
it unchanged (tests/conformance). Orders fill against the simulator's :class:`MarketState`
through :class:`~tradewire.sim.broker.matching.SimBook`; faults from
:class:`~tradewire.sim.models.FaultModel` are applied per request.

One server holds several paper accounts, told apart by key pair (issue 25): the
``key_id``/``secret_key`` one, named ``main``, and any given in ``accounts``. Each has its
own book, lifecycle script, fault knobs, rate-limit bucket and trade_updates listeners
(:class:`~tradewire.sim.broker.accounts.SimAccount`); a request reads and changes only the
account of its key pair, and every quote of the shared market drives every book.

Every execution is also kept as an account activity (``GET /v2/account/activities/FILL``),
whether or not a client watched the stream. The control plane under ``/_sim/`` (loopback
peers only) reads and sets the fault knobs (``/_sim/faults``) and drops or blocks the
trade_updates connections (``/_sim/stream``), of the account whose key pair authenticates
the control request (sim/broker/admin.py); ``/_sim/requests`` lists every order POST, of
every account.

aiohttp serves REST and WebSocket on one port, like the real host. For tick-to-trade the
arrival of each request is stamped when its first bytes are read off the socket
(``data_received``), not when aiohttp has parsed it: :class:`_ArrivalStamp` sits between
the transport and aiohttp's protocol for that.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal

from aiohttp import web

from tradewire.sim.broker import wire
from tradewire.sim.broker.accounts import MAIN, SimAccount
from tradewire.sim.broker.admin import AdminError, AdminRoute, is_loopback_peer
from tradewire.sim.broker.crypto import crypto_assets
from tradewire.sim.broker.lifecycle import VenueScript
from tradewire.sim.broker.matching import SimBook
from tradewire.sim.broker.orders import Execution, OrderError
from tradewire.sim.broker.stream import StreamHub, StreamRoutes
from tradewire.sim.market import MarketState
from tradewire.sim.models import FaultModel
from tradewire.sim.option_chain import OptionChains

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNAUTHORIZED = {"code": 40110000, "message": "request is not authorized"}


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


class AlpacaBrokerServer(StreamRoutes):
    """Paper accounts behind the Alpaca Trading API v2 and its trade_updates stream.

    ``accounts``: more accounts, by name, as ``(key_id, secret_key)``, beside the ``main``
    one of ``key_id``/``secret_key`` (an entry named ``main`` gives that account its pair).
    Every account starts as configured here (cash, partial fills, listed crypto and option
    chains); ``faults`` are the main account's knobs, the others start with none but the
    rate limit.
    """

    def __init__(
        self,
        market: MarketState | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        key_id: str = "test-key",
        secret_key: str = "test-secret",  # noqa: S107 - the simulator's documented test secret
        accounts: Mapping[str, tuple[str, str]] | None = None,
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
        pairs = {MAIN: (key_id, secret_key), **(accounts or {})}
        keys = [key for key, _ in pairs.values()]
        if len(set(keys)) != len(keys):
            raise ValueError("two simulator accounts have the same key id")
        main_faults = faults or FaultModel()
        if rate_limit_per_minute:
            main_faults.rate_limit_per_minute = rate_limit_per_minute
        self.hub = StreamHub(binary_frames=binary_frames)
        # Extra JSON endpoints under /_sim/ (simulator-only, same auth as /v2, loopback
        # peers only, never subject to faults or the rate limit). A route may raise
        # AdminError for a 4xx answer. The accounts' own (faults, stream, orders, options)
        # come first.
        self.admin_routes: dict[str, AdminRoute] = {"requests": self._admin_requests}
        self.accounts: dict[str, SimAccount] = {}
        for name, (key, secret) in pairs.items():
            book = SimBook(
                starting_cash=starting_cash,
                partial_fill_probability=partial_fill_probability,
                seed=seed,
                crypto=crypto_assets(crypto),
                crypto_fee_rate=Decimal(str(crypto_fee_bps)) / 10_000,
                option_chains=option_chains,
            )
            if name != MAIN:  # the main account keeps the id it always had
                book.account_id = str(
                    uuid.uuid5(uuid.NAMESPACE_URL, f"tradewire-sim/account/{seed}/{name}")
                )
            account_faults = (
                main_faults
                if name == MAIN
                else FaultModel(rate_limit_per_minute=main_faults.rate_limit_per_minute)
            )
            self.accounts[name] = SimAccount(
                name,
                key,
                secret,
                book=book,
                market=self.market,
                faults=account_faults,
                hub=self.hub,
                venue_routes=self.admin_routes,
            )
        self._main = self.accounts[MAIN]
        self._by_key = {a.key_id: a for a in self.accounts.values()}
        self._by_bearer: dict[str, SimAccount] = {}
        for a in self.accounts.values():
            self._by_bearer.setdefault(f"Bearer {a.secret_key}", a)
        # The listed pairs are assets before their first quote, as the configured stocks are.
        self.market.listed.update(self.book.crypto)
        self.arrival_sink = arrival_sink
        self.requests_seen: list[tuple[str, str]] = []
        # Every order POST that reached the simulator, duplicates and refusals too, of every
        # account: ``GET /_sim/requests`` (a failover test's "no client_order_id sent twice").
        self.order_requests: list[dict[str, object]] = []
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None
        self._arrivals: dict[object, int] = {}
        self._stalled: list[asyncio.Future[None]] = []

    def __repr__(self) -> str:
        return f"AlpacaBrokerServer(host={self.host!r}, port={self.port})"

    # The main account's state, as with one account (tests read broker.book, .faults, ...).

    @property
    def book(self) -> SimBook:
        return self._main.book

    @property
    def faults(self) -> FaultModel:
        return self._main.faults

    @property
    def script(self) -> VenueScript:
        return self._main.script

    @property
    def binary_frames(self) -> bool:
        return self.hub.binary_frames

    @binary_frames.setter
    def binary_frames(self, value: bool) -> None:
        self.hub.binary_frames = value

    @property
    def _listening(self) -> set[web.WebSocketResponse]:
        return self._main._listening

    def _publish_soon(self, execs: list[Execution]) -> None:
        self._main._publish_soon(execs)

    def set_rate_limit(self, per_minute: int | None, *, tokens: float | None = None) -> None:
        """Start or lift the main account's rate limit while running, so a test can arrange
        its state first and rate-limit only what it measures. ``tokens``: what the bucket
        holds now (full by default; 0 is a key another process has just used up). The same
        knob as ``rate_limit_per_minute`` in ``/_sim/faults``; another account's:
        ``broker.accounts[name].set_rate_limit``."""
        self._main.set_rate_limit(per_minute, tokens=tokens)

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
        # The /v2 and /_sim handlers are the main account's; a request authenticated as
        # another account runs that account's handler of the same name (see _middleware).
        main = self._main
        r.add_get("/v2/account", main._account)
        r.add_get("/v2/account/activities", main._activities)
        r.add_get("/v2/account/activities/{activity_type}", main._activities)
        r.add_get("/v2/clock", main._clock)
        r.add_get("/v2/calendar", main._calendar)
        r.add_get("/v2/assets", main._assets)
        r.add_get("/v2/assets/{symbol:.+}", main._asset)
        r.add_post("/v2/orders", main._post_order)
        r.add_get("/v2/orders", main._list_orders)
        r.add_delete("/v2/orders", main._cancel_all)
        r.add_get("/v2/orders:by_client_order_id", main._order_by_client_id)
        r.add_get("/v2/orders/{order_id}", main._get_order)
        r.add_patch("/v2/orders/{order_id}", main._replace_order)
        r.add_delete("/v2/orders/{order_id}", main._cancel_order)
        r.add_get("/v2/positions", main._positions)
        r.add_delete("/v2/positions", main._close_all)
        r.add_post("/v2/positions/{symbol}/exercise", main._exercise)
        r.add_get("/v2/positions/{symbol:.+}", main._position)
        r.add_delete("/v2/positions/{symbol:.+}", main._close_position)
        r.add_get("/v2/options/contracts", main._option_contracts)
        r.add_get("/v2/options/contracts/{symbol_or_id}", main._option_contract)
        r.add_get("/stream", self._stream)
        r.add_get("/stream/", self._stream)
        r.add_route("*", "/_sim/{name}", main._admin)
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
        for ws in list(self.hub.streams):
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
            account = self._authenticate(request)
            if account is None:
                return web.json_response(UNAUTHORIZED, status=401)
            if account is not self._main and getattr(handler, "__self__", None) is self._main:
                handler = getattr(account, handler.__name__)  # this account's handler
            return await handler(request)
        is_order_post = request.method == "POST" and request.path == "/v2/orders"
        if is_order_post:
            body = await request.read()
            cid = _client_order_id(body)
            self.order_requests.append({"client_order_id": cid, "at": time.time()})
            if self.arrival_sink is not None:
                self.arrival_sink(cid, arrival_ns)
        account = self._authenticate(request)
        if account is None:
            return web.json_response(UNAUTHORIZED, status=401)
        if account is not self._main and getattr(handler, "__self__", None) is self._main:
            handler = getattr(account, handler.__name__)  # this account's handler
        headers: dict[str, str] = {}
        limiter = account.rate_limiter()
        if limiter is not None:
            ok, headers = limiter.take()
            if not ok:
                return web.json_response(
                    {"code": 42910000, "message": "rate limit exceeded"},
                    status=429,
                    headers=headers,
                )
        faults = account.faults
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

    async def _admin_requests(self, request: web.Request) -> dict[str, object]:
        """``GET``: every order POST that reached the simulator, in arrival order, each its
        ``client_order_id`` and ``at`` (wall-clock seconds), refused and duplicate ones too."""
        if request.method != "GET":
            raise AdminError(405, f"method {request.method} not allowed: use GET")
        return {"orders": list(self.order_requests)}

    def _authenticate(self, request: web.Request) -> SimAccount | None:
        """The account of the request's key pair (one dict get), or None: refused."""
        headers = request.headers
        key = headers.get("APCA-API-KEY-ID")
        secret = headers.get("APCA-API-SECRET-KEY")
        if key is not None or secret is not None:
            account = self._by_key.get(key) if key is not None else None
            return account if account is not None and secret == account.secret_key else None
        return self._by_bearer.get(headers.get("Authorization", ""))


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
