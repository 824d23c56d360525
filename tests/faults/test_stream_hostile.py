"""TradeStream against hostile trade_updates servers: silent, refusing, and a close during a
long backoff. The stream now shares the feed's reconnecting WebSocket (net/websocket.py); its
own old copy had none of these bounds.

Real WebSocket (or TCP) servers on 127.0.0.1:0; every await bounded; no fixed sleeps.
"""

from __future__ import annotations

import asyncio

import pytest

from tradewire.net.websocket import WebSocketOptions
from tradewire.venues.alpaca.stream import TradeStream


async def test_stream_that_never_authorizes_is_dropped_and_retried(until, silent_ws):
    async with silent_ws("/stream") as (url, connections):
        stream = TradeStream(url, "k", "s", on_update=print, handshake_timeout_s=0.2, seed=1)
        try:
            with pytest.raises(TimeoutError, match=r"not listening within 0\.2s"):
                await stream.start(timeout_s=1.5)
            # the silent connection was dropped, and the stream keeps trying
            await until(lambda: len(connections) >= 2 and stream.reconnects >= 1)
        finally:
            async with asyncio.timeout(5):
                await stream.close()


async def test_stream_close_during_a_long_backoff_returns_at_once(until):
    # A server that hangs up on accept, and a first backoff of a minute.
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    slow = WebSocketOptions(connect_timeout_s=2, reconnect_initial_s=60, reconnect_max_s=120)
    stream = TradeStream(f"ws://127.0.0.1:{port}/stream", "k", "s", on_update=print, options=slow)
    starting = asyncio.create_task(stream.start(timeout_s=30))
    try:
        await until(lambda: stream.reconnects == 1)
        # Act / Assert: close() does not wait out the backoff
        async with asyncio.timeout(1):
            await stream.close()
    finally:
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        server.close()
        await server.wait_closed()
