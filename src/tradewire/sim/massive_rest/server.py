"""Massive's REST API for options on loopback: the chain snapshot and the contracts list.

``GET /v3/snapshot/options/{underlyingAsset}`` prices every listed, unexpired contract of the
underlying with the simulator's Black-Scholes model (sim/option_chain.py) at the underlying's
current mid, on the simulator's clock; ``GET /v3/reference/options/contracts`` lists them.
The official ``massive`` SDK's ``RESTClient(base=...)`` reads both unchanged, across pages
(tests/conformance/test_options_massive_rest.py).

Authentication is Massive's: the key in ``Authorization: Bearer KEY`` (what the SDK sends) or
``?apiKey=KEY``; without one ``401 {"status":"ERROR","error":"API Key was not provided"}``,
with a wrong one ``401 ... "Unknown API Key"``. Every answer carries a ``request_id``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tradewire.engine.options import OptionContract
from tradewire.sim.market import MarketState
from tradewire.sim.massive_rest.query import (
    CONTRACTS,
    SNAPSHOT,
    Query,
    QueryError,
    Trade,
    matches,
    ordered,
    page,
    parse_query,
    reference_result,
    snapshot_result,
)
from tradewire.sim.option_chain import EASTERN, OptionChains, expiry_instant, listing_day

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SpotSource = Callable[[str], float | None]
TradeSource = Callable[[OptionContract], Trade | None]


def utc_now() -> datetime:
    return datetime.now(UTC)


def market_spot(market: MarketState) -> SpotSource:
    """The underlying's price as the simulator shows it: the NBBO mid, else the last trade."""

    def spot(symbol: str) -> float | None:
        nbbo = market.quotes.get(symbol)
        if nbbo is not None and nbbo.bid_price > 0 and nbbo.ask_price > 0:
            return round((nbbo.bid_price + nbbo.ask_price) / 2, 4)
        trade = market.trades.get(symbol)
        return trade.price if trade is not None and trade.price > 0 else None

    return spot


def market_trades(market: MarketState) -> TradeSource:
    """A contract's last trade, if the simulator's feed printed one (under either form)."""

    def last(contract: OptionContract) -> Trade | None:
        trade = market.trades.get(contract.symbol) or market.trades.get(contract.massive_ticker)
        if trade is None:
            return None
        return Trade(trade.price, int(trade.size), trade.timestamp_ms * 1_000_000)

    return last


def _request_id() -> str:
    return uuid.uuid4().hex


def _error(status: int, message: str) -> web.Response:
    body = {"status": "ERROR", "request_id": _request_id(), "error": message}
    return web.json_response(body, status=status)


class MassiveRestServer:
    """The options endpoints of Massive's REST API over an :class:`OptionChains`.

    Args:
        chains: the listed contracts (shared with the rest of the simulator).
        spot: the underlying's current price (None while it has none).
        clock: now, timezone-aware; expiry and the model's time to expiry use it.
        auto_list: underlyings whose chain is listed on first request, at the price then.
        last_trade: a contract's last trade, if any.
    """

    def __init__(
        self,
        chains: OptionChains,
        spot: SpotSource,
        *,
        clock: Callable[[], datetime] = utc_now,
        host: str = "127.0.0.1",
        port: int = 0,
        api_keys: Sequence[str] = ("test-key",),
        auto_list: Iterable[str] = (),
        last_trade: TradeSource | None = None,
    ) -> None:
        self.chains = chains
        self.spot = spot
        self.clock = clock
        self.host = host
        self.port = port
        self.api_keys = frozenset(api_keys)
        self.auto_list = {u.strip().upper() for u in auto_list if u.strip()}
        self.last_trade = last_trade
        self.requests = 0
        self._runner: web.AppRunner | None = None

    def __repr__(self) -> str:  # the keys are not shown
        return f"MassiveRestServer(url={self.url!r}, contracts={len(self.chains)})"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/v3/snapshot/options/{underlying}", self._snapshot)
        app.router.add_get("/v3/reference/options/contracts", self._contracts)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(
            self.app(), access_log=None, handle_signals=False, shutdown_timeout=1
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port, reuse_address=True).start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> MassiveRestServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests += 1
        key = request.query.get("apiKey")
        if key is None:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            key = token.strip() if scheme.lower() == "bearer" and token.strip() else None
        if key is None:
            return _error(401, "API Key was not provided")
        if key not in self.api_keys:
            return _error(401, "Unknown API Key")
        try:
            return await handler(request)
        except QueryError as exc:
            return _error(400, str(exc))

    def _listed(self, underlying: str, now: datetime) -> list[OptionContract]:
        listed = self.chains.by_underlying.get(underlying)
        if listed is None and underlying in self.auto_list:
            spot = self.spot(underlying)
            if spot is not None:
                listed = self.chains.list_underlying(underlying, spot, listing_day(now))
        return list(listed or ())

    def _page(
        self, request: web.Request, contracts: list[OptionContract], query: Query
    ) -> tuple[list[OptionContract], dict[str, Any]]:
        chosen = ordered([c for c in contracts if matches(c, query)], query)
        envelope: dict[str, Any] = {"status": "OK", "request_id": _request_id()}
        cursor = query.next_cursor(len(chosen))
        if cursor is not None:
            envelope["next_url"] = f"{self.url}{request.path}?cursor={cursor}"
        return page(chosen, query), envelope

    async def _snapshot(self, request: web.Request) -> web.Response:
        query = parse_query(list(request.query.items()), SNAPSHOT)
        underlying = request.match_info["underlying"]
        now = self.clock()
        live = [c for c in self._listed(underlying, now) if expiry_instant(c.expiry) > now]
        chosen, envelope = self._page(request, live, query)
        spot = self.spot(underlying)
        now_ns = int(now.timestamp() * 1_000_000_000)
        results = []
        for contract in chosen:
            price = self.chains.price(contract, spot, now) if spot is not None else None
            trade = self.last_trade(contract) if self.last_trade is not None else None
            results.append(snapshot_result(contract, price, spot, now_ns, trade))
        return web.json_response({**envelope, "results": results})

    async def _contracts(self, request: web.Request) -> web.Response:
        query = parse_query(list(request.query.items()), CONTRACTS)
        now = self.clock()
        underlying = query.value("underlying_ticker")
        if underlying is not None:
            self._listed(underlying, now)
        as_of = query.value("as_of") or now.astimezone(EASTERN).date()
        expired = bool(query.value("expired"))
        contracts = [
            c
            for c in self.chains
            if (c.expiry < as_of) == expired  # expired=false (the default): still trading
        ]
        chosen, envelope = self._page(request, contracts, query)
        results = [reference_result(c) for c in chosen]
        return web.json_response({**envelope, "results": results})
