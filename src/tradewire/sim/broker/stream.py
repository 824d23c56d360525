"""The simulated trade_updates stream: the WebSocket handler, and executions published as
Alpaca's ``trade_updates`` messages after the HTTP answer that caused them.

One ``/stream`` endpoint serves every account (:class:`StreamHub`); the ``authenticate``
message's key pair picks the account a connection listens to, and each account publishes
its executions to its own listeners only (:class:`TradeUpdates`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tradewire.sim.broker import lifecycle, wire
from tradewire.sim.broker.lifecycle import VenueScript
from tradewire.sim.broker.matching import SimBook
from tradewire.sim.broker.orders import (
    Execution,
    SimOrder,
)
from tradewire.sim.market import NBBO

if TYPE_CHECKING:
    from tradewire.sim.broker.accounts import SimAccount


class StreamHub:
    """The trade_updates endpoint every account shares: its connections, which account
    each has authenticated as, the upgrade block (``/_sim/stream``) and the frame type."""

    def __init__(self, *, binary_frames: bool) -> None:
        self.binary_frames = binary_frames
        self.streams: set[web.WebSocketResponse] = set()
        self.owner: dict[web.WebSocketResponse, object] = {}  # ws -> its SimAccount
        self.blocked_until = 0.0  # loop.time() before which /stream refuses upgrades

    def of(self, account: object) -> list[web.WebSocketResponse]:
        """The connections authenticated as ``account``, and those not authenticated yet."""
        owner = self.owner
        return [ws for ws in self.streams if owner.get(ws, account) is account]

    async def send(self, ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
        payload = json.dumps(message, separators=(",", ":"))
        if self.binary_frames:
            await ws.send_bytes(payload.encode())
        else:
            await ws.send_str(payload)

    @staticmethod
    def close(sockets: Iterable[web.WebSocketResponse]) -> None:
        for ws in list(sockets):
            transport = ws._req.transport if ws._req is not None else None
            if transport is not None:
                transport.abort()


class StreamRoutes:
    """The ``/stream`` handler of :class:`~tradewire.sim.broker.server.AlpacaBrokerServer`."""

    hub: StreamHub
    _by_key: Mapping[str, SimAccount]

    def close_streams(self) -> None:
        """Drop every trade_updates connection, of every account (for reconnect tests)."""
        self.hub.close(self.hub.streams)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        hub = self.hub
        if hub.blocked_until > asyncio.get_running_loop().time():
            # POST /_sim/stream {"block_s": N}: the upgrade is refused as by an overloaded host.
            return web.json_response(
                wire.error_json(50300000, "trade stream unavailable (simulated)"), status=503
            )
        ws = web.WebSocketResponse(autoping=True, heartbeat=None)
        await ws.prepare(request)
        hub.streams.add(ws)
        authed = False
        account: SimAccount | None = None  # the account this connection listens to
        try:
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                try:
                    data = json.loads(msg.data)
                except (ValueError, TypeError):
                    await hub.send(
                        ws, {"stream": "error", "data": {"error_message": "invalid syntax"}}
                    )
                    continue
                action = data.get("action") if isinstance(data, dict) else None
                payload = data.get("data") if isinstance(data, dict) else None
                payload = payload if isinstance(payload, dict) else {}
                if action == "authenticate":
                    key = payload.get("key_id")
                    found = self._by_key.get(key) if isinstance(key, str) else None
                    authed = found is not None and payload.get("secret_key") == found.secret_key
                    if authed and found is not account:
                        if account is not None:
                            account._listening.discard(ws)
                        account = found
                        hub.owner[ws] = found
                    reply: dict[str, Any] = {
                        "status": "authorized" if authed else "unauthorized",
                        "action": "authenticate",
                    }
                    if not authed:
                        reply["message"] = "access key verification failed"
                    await hub.send(ws, {"stream": "authorization", "data": reply})
                elif action == "listen":
                    if not authed or account is None:
                        await hub.send(
                            ws,
                            {
                                "stream": "authorization",
                                "data": {"status": "unauthorized", "action": "listen"},
                            },
                        )
                        continue
                    streams = [s for s in payload.get("streams", []) if s == "trade_updates"]
                    if streams:
                        account._listening.add(ws)
                    else:
                        account._listening.discard(ws)
                    await hub.send(ws, {"stream": "listening", "data": {"streams": streams}})
        finally:
            hub.streams.discard(ws)
            hub.owner.pop(ws, None)
            if account is not None:
                account._listening.discard(ws)
        return ws


class TradeUpdates:
    """One account's trade_updates: its executions, to its own listeners."""

    # What the methods use of the account (SimAccount sets them).
    book: SimBook
    script: VenueScript
    hub: StreamHub
    _listening: set[web.WebSocketResponse]
    _sends: set[asyncio.Task[None]]

    def _publish_soon(self, execs: list[Execution]) -> None:
        # Events follow the HTTP response, as on the real venue; never inside it.
        if execs:
            asyncio.get_running_loop().call_soon(self._publish, execs)

    def _activate(self, order: SimOrder) -> None:
        self._publish(lifecycle.activate(self.book, order, self.script))

    def _publish(self, execs: list[Execution]) -> None:
        if not self._listening:
            return
        loop = asyncio.get_running_loop()
        send = self.hub.send
        for ex in execs:
            message = wire.trade_update_json(ex, self.book)
            for ws in list(self._listening):
                if not ws.closed:
                    task = loop.create_task(send(ws, message))
                    self._sends.add(task)
                    task.add_done_callback(self._sends.discard)

    def _on_quote(self, nbbo: NBBO) -> None:
        execs = self.book.on_quote(nbbo)
        if execs:
            self._publish(execs)
