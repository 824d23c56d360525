"""The simulated trade_updates stream: the WebSocket handler, and executions published as
Alpaca's ``trade_updates`` messages after the HTTP answer that caused them.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import WSMsgType, web

from tradewire.sim.broker import lifecycle, wire
from tradewire.sim.broker.lifecycle import VenueScript
from tradewire.sim.broker.matching import SimBook
from tradewire.sim.broker.orders import (
    Execution,
    SimOrder,
)
from tradewire.sim.market import NBBO, MarketState


class StreamRoutes:
    """trade_updates of :class:`~tradewire.sim.broker.server.AlpacaBrokerServer`."""

    # What the handlers use of the server (AlpacaBrokerServer sets them).
    book: SimBook
    script: VenueScript
    market: MarketState
    binary_frames: bool
    _key_id: str
    _secret: str
    _streams: set[web.WebSocketResponse]
    _listening: set[web.WebSocketResponse]
    _sends: set[asyncio.Task[None]]
    _stream_blocked_until: float

    def close_streams(self) -> None:
        """Drop every trade_updates connection (for reconnect tests)."""
        for ws in list(self._streams):
            transport = ws._req.transport if ws._req is not None else None
            if transport is not None:
                transport.abort()

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
        self._publish(lifecycle.activate(self.book, order, self.script))

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
