"""One paper account of the simulated broker (issue 25): a key pair and what it owns.

The broker serves several accounts on one port, told apart by the key pair of each request
(and of each trade_updates ``authenticate``). An account owns its book (cash, orders,
positions, fills, fees, option positions and activities), its order-lifecycle script, its
fault knobs and rate-limit bucket, and its trade_updates listeners; the market is shared,
and every quote drives every account's book. The REST, option and control handlers run on
the account the request authenticated as, so they read ``self.book`` as with one account.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime

from aiohttp import web

from tradewire.sim.broker.admin import AdminRoute, AdminRoutes
from tradewire.sim.broker.lifecycle import VenueScript
from tradewire.sim.broker.matching import SimBook
from tradewire.sim.broker.option_routes import OptionRoutes
from tradewire.sim.broker.rest import RestRoutes
from tradewire.sim.broker.stream import StreamHub, TradeUpdates
from tradewire.sim.market import MarketState
from tradewire.sim.models import FaultModel

MAIN = "main"  # the name of the account of the server's key_id/secret_key


class RateLimiter:
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


class SimAccount(RestRoutes, OptionRoutes, TradeUpdates, AdminRoutes):
    """A paper account behind one key pair, and the handlers that serve it."""

    def __init__(
        self,
        name: str,
        key_id: str,
        secret_key: str,
        *,
        book: SimBook,
        market: MarketState,
        faults: FaultModel,
        hub: StreamHub,
        venue_routes: dict[str, AdminRoute],
    ) -> None:
        self.name = name
        self.key_id = key_id
        self.secret_key = secret_key
        self.book = book
        self.market = market
        self.faults = faults
        self.hub = hub
        self.script = VenueScript()  # the rare trade_updates events (/_sim/orders)
        self._listening: set[web.WebSocketResponse] = set()
        self._sends: set[asyncio.Task[None]] = set()
        self._limiter: RateLimiter | None = None
        self.own_routes = {
            "faults": self._admin_faults,
            "stream": self._admin_stream,
            "orders": self._admin_orders,
            "options": self._admin_options,
        }
        self.venue_routes = venue_routes
        # Options (issue 24): expiries settled so far, and the quote-driven expiry clock.
        self.settled_expiries: set[date] = set()
        self._expiry_watch: tuple[int, date | None, datetime | None] = (-1, None, None)
        market.on_quote(self._on_quote)
        if book.options is not None:
            market.on_quote(self._option_clock)

    def __repr__(self) -> str:
        return f"SimAccount({self.name!r})"

    def rate_limiter(self) -> RateLimiter | None:
        # The limit is a fault knob (it may change at run time); a new limit starts full.
        per_minute = self.faults.rate_limit_per_minute
        if not per_minute:
            self._limiter = None
        elif self._limiter is None or self._limiter.per_minute != per_minute:
            self._limiter = RateLimiter(per_minute)
        return self._limiter

    def set_rate_limit(self, per_minute: int | None, *, tokens: float | None = None) -> None:
        """See :meth:`~tradewire.sim.broker.server.AlpacaBrokerServer.set_rate_limit`."""
        self.faults.rate_limit_per_minute = per_minute or 0
        self._limiter = RateLimiter(per_minute) if per_minute else None
        if self._limiter is not None and tokens is not None:
            self._limiter.tokens = min(float(per_minute or 0), max(0.0, tokens))
