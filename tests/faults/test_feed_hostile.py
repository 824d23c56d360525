"""PolygonClient against hostile feed servers: silent, half-speaking, refusing, flooding.

Each server is a real WebSocket (or TCP) server on 127.0.0.1:0, scripted per test; no mocks.
Every await is bounded, and waits are on conditions, never on fixed sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import WSMsgType, web

from tradewire import PolygonClient
from tradewire.errors import FeedClosedError
from tradewire.venues.polygon.config import PolygonFeedConfig
from tradewire.venues.polygon.messages import Quote

Script = Callable[[web.WebSocketResponse], Awaitable[None]]

CONNECTED = [{"ev": "status", "status": "connected", "message": "Connected Successfully"}]
AUTHED = [{"ev": "status", "status": "auth_success", "message": "authenticated"}]

# Short handshake steps and a short overall bound, so a hang shows up as a test failure.
HOSTILE: dict[str, object] = {
    "handshake_timeout_s": 0.2,
    "auth_timeout_s": 0.2,
    "ready_timeout_s": 1.5,
    "connect_timeout_s": 1.0,
    "reconnect_initial_s": 0.01,
    "reconnect_max_s": 0.05,
    "stale_after_s": 0,
}


def hostile_config(**overrides: object) -> PolygonFeedConfig:
    return PolygonFeedConfig.model_validate({**HOSTILE, **overrides})


class ScriptedFeed:
    """A WebSocket server on 127.0.0.1:0 that runs ``script`` for every connection."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0
        self.received: list[dict[str, str]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        await self.script(ws)
        return ws

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/stocks", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/stocks"

    async def read_until_closed(self, ws: web.WebSocketResponse) -> None:
        """Record what the client sends, answer nothing, until the client goes away."""
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                self.received.append(json.loads(msg.data))


@contextlib.asynccontextmanager
async def scripted_feed(
    script: Callable[[ScriptedFeed, web.WebSocketResponse], Awaitable[None]],
) -> AsyncIterator[ScriptedFeed]:
    feed = ScriptedFeed(lambda ws: script(feed, ws))
    try:
        await feed.start()
        yield feed
    finally:
        async with asyncio.timeout(10):
            await feed.stop()


@contextlib.asynccontextmanager
async def tcp_server(
    on_connect: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[str]:
    """A raw TCP server on 127.0.0.1:0; yields the ws:// URL pointing at it."""
    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}/stocks"
    finally:
        server.close()
        async with asyncio.timeout(10):
            await server.wait_closed()


# -- finding 1: handshake steps are bounded -------------------------------------------------


async def test_connect_to_server_that_never_says_connected_raises_within_bound(until):
    # Accepts the WebSocket, then says nothing: today connect() (and `tradewire run`) hangs.
    async def silent(feed: ScriptedFeed, ws: web.WebSocketResponse) -> None:
        await feed.read_until_closed(ws)

    async with scripted_feed(silent) as feed:
        client = PolygonClient("test-key", url=feed.url, config=hostile_config())
        try:
            async with asyncio.timeout(5):
                with pytest.raises(FeedClosedError, match="'connected'") as info:
                    await client.connect()
            assert "within 1.5s" in str(info.value)
            # Each timed-out attempt is a failed connection: the supervisor keeps reconnecting.
            await until(lambda: feed.connections >= 2 and client.reconnects >= 1)
            assert feed.received == []  # never authenticated: nothing was sent
        finally:
            async with asyncio.timeout(2):
                await client.close()


async def test_connect_to_server_that_never_answers_auth_raises_within_bound(until):
    async def no_verdict(feed: ScriptedFeed, ws: web.WebSocketResponse) -> None:
        await ws.send_json(CONNECTED)
        await feed.read_until_closed(ws)

    async with scripted_feed(no_verdict) as feed:
        client = PolygonClient("test-key", url=feed.url, config=hostile_config())
        try:
            async with asyncio.timeout(5):
                with pytest.raises(FeedClosedError, match="auth"):
                    await client.connect()
            assert {"action": "auth", "params": "test-key"} in feed.received
            await until(lambda: feed.connections >= 2 and client.reconnects >= 1)
            assert not client.is_authenticated
        finally:
            async with asyncio.timeout(2):
                await client.close()


async def test_connect_with_explicit_timeout_overrides_the_config_bound():
    async def silent(feed: ScriptedFeed, ws: web.WebSocketResponse) -> None:
        await feed.read_until_closed(ws)

    cfg = hostile_config(ready_timeout_s=60.0)
    async with scripted_feed(silent) as feed:
        client = PolygonClient("test-key", url=feed.url, config=cfg)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with asyncio.timeout(5):
                with pytest.raises(FeedClosedError, match=r"within 0\.5s"):
                    await client.connect(timeout_s=0.5)
            assert loop.time() - started < 3
        finally:
            async with asyncio.timeout(2):
                await client.close()


async def test_handshake_timeout_then_a_healthy_server_connects(until):
    # The first connection hears nothing; the second is a normal feed: the supervisor's
    # reconnect after the handshake timeout gets the client authenticated.
    async def first_silent(feed: ScriptedFeed, ws: web.WebSocketResponse) -> None:
        if feed.connections == 1:
            await feed.read_until_closed(ws)
            return
        await ws.send_json(CONNECTED)
        async for msg in ws:
            if msg.type is WSMsgType.TEXT and json.loads(msg.data)["action"] == "auth":
                await ws.send_json(AUTHED)

    async with scripted_feed(first_silent) as feed:
        client = PolygonClient("test-key", url=feed.url, config=hostile_config())
        try:
            async with asyncio.timeout(5):
                await client.connect()
            assert client.is_authenticated
            assert feed.connections == 2
            assert client.reconnects == 1
        finally:
            async with asyncio.timeout(2):
                await client.close()


# -- finding 2: close() does not wait out the backoff --------------------------------------


async def test_close_during_long_reconnect_backoff_returns_at_once(until):
    # Every connection is dropped right after TCP accept, so each attempt fails and the
    # supervisor sleeps. seed=2 makes the first full-jitter delay 57 s of a 60 s cap.
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    cfg = hostile_config(reconnect_initial_s=60.0, reconnect_max_s=60.0, ready_timeout_s=60.0)
    async with tcp_server(hang_up) as url:
        client = PolygonClient("test-key", url=url, config=cfg, seed=2)
        connecting = asyncio.create_task(client.connect())
        await until(lambda: client.reconnects == 1)  # set just before the backoff sleep

        async with asyncio.timeout(1.0):
            await client.close()

        with pytest.raises(FeedClosedError):
            async with asyncio.timeout(1.0):
                await connecting


async def test_close_while_server_never_answers_the_upgrade_returns_at_once(until):
    # TCP accepted, HTTP upgrade never answered: the client is inside ws_connect, where
    # close() has no transport to close. It must not wait for connect_timeout_s.
    accepted = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        accepted.set()

    cfg = hostile_config(connect_timeout_s=30.0, ready_timeout_s=60.0)
    async with tcp_server(mute) as url:
        client = PolygonClient("test-key", url=url, config=cfg)
        connecting = asyncio.create_task(client.connect())
        async with asyncio.timeout(5):
            await accepted.wait()

        async with asyncio.timeout(1.0):
            await client.close()

        with pytest.raises(FeedClosedError):
            async with asyncio.timeout(1.0):
                await connecting
        for writer in held:
            writer.close()


# -- finding 4: unsubscribed symbols do not grow per-symbol state ---------------------------


async def test_quotes_for_many_unsubscribed_symbols_do_not_grow_the_route_cache(until):
    symbols = 20_000
    per_frame = 500

    async def flood(feed: ScriptedFeed, ws: web.WebSocketResponse) -> None:
        await ws.send_json(CONNECTED)
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            action = json.loads(msg.data)
            if action["action"] == "auth":
                await ws.send_json(AUTHED)
            elif action["action"] == "subscribe":
                await ws.send_json(
                    [{"ev": "status", "status": "success", "message": "subscribed to: Q.AAPL"}]
                )
                for start in range(0, symbols, per_frame):
                    frame = [
                        {"ev": "Q", "sym": f"JUNK{i}", "bp": 1.0, "ap": 2.0}
                        for i in range(start, start + per_frame)
                    ]
                    await ws.send_json(frame)
                await ws.send_json([{"ev": "Q", "sym": "AAPL", "bp": 1.0, "ap": 2.0}])

    got: list[Quote] = []
    async with scripted_feed(flood) as feed:
        client = PolygonClient("test-key", url=feed.url, config=hostile_config())
        try:
            async with asyncio.timeout(5):
                await client.subscribe_quotes(["AAPL"], got.append)
            await until(lambda: len(got) == 1, timeout_s=20)
            assert got[0].symbol == "AAPL"
            assert client.session.events == symbols + 1
            # Bounded (ROUTE_CACHE_MAX), not one entry per symbol the server chose to send.
            assert len(client._route_cache) < symbols // 2
            assert ("Q", "AAPL") in client._route_cache  # the subscribed route stays cached
        finally:
            async with asyncio.timeout(2):
                await client.close()
