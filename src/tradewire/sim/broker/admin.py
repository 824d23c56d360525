"""The simulator's control plane under ``/_sim/``: fault knobs and trade_updates drops and
blocks, for loopback peers only (tests, and users rehearsing failures).

Each endpoint acts on the account whose key pair authenticates the control request (issue
25): its fault knobs, its order-lifecycle script, its book, its trade_updates connections.
The one exception is ``block_s`` of ``/_sim/stream``: the WebSocket upgrade comes before the
key pair is known, so a block refuses every account's new connections.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tradewire.sim.broker import wire
from tradewire.sim.broker.lifecycle import VenueScript
from tradewire.sim.broker.matching import SimBook
from tradewire.sim.broker.orders import Execution
from tradewire.sim.broker.stream import StreamHub
from tradewire.sim.models import FaultKnobError, FaultModel

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


AdminRoute = Callable[[web.Request], Awaitable[Any]]


class AdminRoutes:
    """``/_sim/{name}`` handlers of one account
    (:class:`~tradewire.sim.broker.accounts.SimAccount`)."""

    # What the handlers use of the account (SimAccount sets them).
    faults: FaultModel
    script: VenueScript
    book: SimBook
    hub: StreamHub
    own_routes: dict[str, AdminRoute]  # this account's: faults, orders, options, stream
    venue_routes: dict[str, AdminRoute]  # the server's admin_routes (e.g. triggers)
    _listening: set[web.WebSocketResponse]

    if TYPE_CHECKING:  # provided by the account class; declared here for the type checker

        def _publish_soon(self, execs: list[Execution]) -> None:
            raise NotImplementedError

    async def _admin(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        route = self.own_routes.get(name) or self.venue_routes.get(name)
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

    async def _admin_orders(self, request: web.Request) -> dict[str, object]:
        """``GET``: the order-lifecycle knobs. ``POST {knob: value, ...}``: set those, all or
        none; ``{"expire_day_orders": true}`` ends the session now (see sim.broker.lifecycle)."""
        expired = 0
        if request.method == "POST":
            body = await _admin_body(request)
            expire = body.get("expire_day_orders", False)
            if not isinstance(expire, bool):
                raise AdminError(400, "expire_day_orders: expected true or false")
            try:
                self.script.update(body)
            except ValueError as exc:
                raise AdminError(400, str(exc)) from None
            if expire:
                execs = self.book.expire_day_orders()
                expired = len(execs)
                self._publish_soon(execs)
        elif request.method != "GET":
            raise AdminError(405, f"method {request.method} not allowed: use GET or POST")
        return {**self.script.knobs(), "expired": expired}

    async def _admin_stream(self, request: web.Request) -> dict[str, object]:
        """``POST {"drop": true}``: close this account's trade_updates connections now (and
        any not authenticated yet). ``POST {"block_s": N}``: refuse new trade_updates
        connections, of every account (HTTP 503 on the upgrade, before any key pair is
        known), for N seconds from now; 0 lifts a block. ``GET``: the stream state."""
        hub = self.hub
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
                hub.blocked_until = asyncio.get_running_loop().time() + block_s
            if drop:
                mine = hub.of(self)
                dropped = len(mine)
                hub.close(mine)
        elif request.method != "GET":
            raise AdminError(405, f"method {request.method} not allowed: use GET or POST")
        return {
            "connections": len(hub.of(self)),
            "listening": len(self._listening),
            "dropped": dropped,
            "blocked_for_s": self._stream_block_remaining(),
        }

    def _stream_block_remaining(self) -> float:
        remaining = self.hub.blocked_until - asyncio.get_running_loop().time()
        return round(max(0.0, remaining), 3)
