"""RawHttpPool against a slow broker: it opened 351 connections when answers slowed down.

A real asyncio server on loopback answers each request after a delay (the slow broker) and
counts the connections it accepted and how many were open at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from tradewire.venues.alpaca.http import HttpError, RawHttpPool

BOUND_S = 10.0  # every wait in this file; far above what loopback needs


@dataclass
class SlowBroker:
    url: str = ""
    delay_s: float = 0.02
    accepted: int = 0
    open_now: int = 0
    open_peak: int = 0
    seen: list[bytes] = field(default_factory=list)


def get(path: bytes) -> bytes:
    return b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path


@contextlib.asynccontextmanager
async def slow_broker(delay_s: float) -> AsyncIterator[SlowBroker]:
    broker = SlowBroker(delay_s=delay_s)
    serving: set[asyncio.Task[object]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        serving.add(task)
        broker.accepted += 1
        broker.open_now += 1
        broker.open_peak = max(broker.open_peak, broker.open_now)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                path = head.split(b" ", 2)[1]
                broker.seen.append(path)
                await asyncio.sleep(broker.delay_s)  # the broker's latency, not a wait
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(path), path))
        finally:
            broker.open_now -= 1
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    broker.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield broker
    finally:
        server.close()
        async with asyncio.timeout(BOUND_S):
            await server.wait_closed()
            await asyncio.gather(*serving, return_exceptions=True)


async def test_concurrent_requests_never_open_more_than_max_connections() -> None:
    # Arrange: 2 warm, at most 4; a broker that takes 20 ms per answer.
    async with slow_broker(0.02) as broker:
        pool = RawHttpPool(broker.url, size=2, max_connections=4)
        try:
            async with asyncio.timeout(BOUND_S):
                await pool.warm()
                # Act: 100 requests at once
                answers = await asyncio.gather(
                    *(pool.request(get(b"/%d" % i), timeout_s=BOUND_S) for i in range(100))
                )
        finally:
            await pool.close()

    # Assert: every request answered, by its own answer, over at most 4 connections
    assert [a.body for a in answers] == [b"/%d" % i for i in range(100)]
    assert broker.open_peak <= 4
    assert broker.accepted <= 4


async def test_requests_beyond_the_max_wait_in_fifo_order() -> None:
    async with slow_broker(0.005) as broker:
        pool = RawHttpPool(broker.url, size=1, max_connections=1)
        try:
            async with asyncio.timeout(BOUND_S):
                await pool.warm()
                await asyncio.gather(
                    *(pool.request(get(b"/%d" % i), timeout_s=BOUND_S) for i in range(20))
                )
        finally:
            await pool.close()

    assert broker.seen == [b"/%d" % i for i in range(20)]
    assert broker.accepted == 1


async def test_waiting_for_a_connection_is_bounded_by_the_request_timeout() -> None:
    # One connection, held by a request the broker answers in 0.6 s: the next one cannot
    # get a connection within its 0.2 s and fails as never written (safe to resend).
    async with slow_broker(0.6) as broker:
        pool = RawHttpPool(broker.url, size=1, max_connections=1)
        try:
            async with asyncio.timeout(BOUND_S):
                await pool.warm()
                first = await pool.send(get(b"/slow"))
                with pytest.raises(HttpError) as caught:
                    await pool.request(get(b"/late"), timeout_s=0.2)
                assert (await first).body == b"/slow"
        finally:
            await pool.close()

    assert caught.value.written is False
    assert b"/late" not in broker.seen


def test_config_refuses_a_maximum_below_the_warm_size() -> None:
    import pydantic

    from tradewire.venues.alpaca.config import AlpacaBrokerConfig

    assert AlpacaBrokerConfig().max_connections == 16
    with pytest.raises(
        pydantic.ValidationError, match="max_connections \\(2\\) is below pool_size"
    ):
        AlpacaBrokerConfig(pool_size=4, max_connections=2)
