"""RawHttpPool against a hostile HTTP/1.1 peer on loopback: answers matched to the wrong order
would ack one order with another's body, and an endless body would take the process down."""

from __future__ import annotations

import asyncio
import contextlib
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from tradewire.venues.alpaca.http import HttpError, RawHttpPool, Response

Handler = Callable[[bytes, asyncio.StreamWriter, dict[str, bytes]], Awaitable[None]]

BOUND_S = 5.0  # every wait in this file; far above what loopback needs
DEFAULT_MAX_BODY = 8 * 1024 * 1024


@dataclass
class Peer:
    """What the hostile server saw; the events let tests wait on conditions, never sleep."""

    url: str = ""
    connections: int = 0
    sent: int = 0
    client_closed: asyncio.Event = field(default_factory=asyncio.Event)
    capped: asyncio.Event = field(default_factory=asyncio.Event)


def answer(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def get(path: bytes) -> bytes:
    return b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path


@contextlib.asynccontextmanager
async def hostile_server(handler: Handler, peer: Peer | None = None) -> AsyncIterator[Peer]:
    peer = peer or Peer()
    serving: set[asyncio.Task[object]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        serving.add(task)
        peer.connections += 1
        scratch: dict[str, bytes] = {}
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                await handler(head.split(b" ", 2)[1], writer, scratch)
        finally:
            peer.client_closed.set()
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    peer.url = f"http://127.0.0.1:{port}"
    try:
        yield peer
    finally:
        server.close()
        async with asyncio.timeout(BOUND_S):
            await server.wait_closed()
            # The client has closed every connection by now; a handler left pending would be
            # cancelled at loop teardown and logged as an error.
            await asyncio.gather(*serving)


@contextlib.asynccontextmanager
async def pool_for(
    peer: Peer, size: int = 1, max_body_bytes: int | None = None
) -> AsyncIterator[RawHttpPool]:
    if max_body_bytes is None:  # the default, as AlpacaClient builds its pool
        pool = RawHttpPool(peer.url, size=size)
    else:
        pool = RawHttpPool(peer.url, size=size, max_body_bytes=max_body_bytes)
    async with asyncio.timeout(BOUND_S):
        await pool.warm()
    try:
        yield pool
    finally:
        await pool.close()


async def body_of(pool: RawHttpPool, path: bytes) -> bytes:
    async with asyncio.timeout(BOUND_S):
        response = await pool.request(get(path), timeout_s=BOUND_S / 2)
    return response.body


async def outcome(fut: asyncio.Future[Response]) -> bytes | str:
    """The body, or the exception's name: a lost answer shows next to a misrouted one."""
    try:
        async with asyncio.timeout(BOUND_S / 2):
            return (await fut).body
    except (TimeoutError, HttpError) as exc:
        return type(exc).__name__


def assert_no_connection_twice(pool: RawHttpPool) -> None:
    idle = list(pool._idle)
    assert len(set(idle)) == len(idle), f"the pool holds one connection twice: {pool!r}"


# -- an answer no request asked for ------------------------------------------------------------


@pytest.mark.parametrize("when", ["same_segment", "split", "while_idle"])
async def test_unsolicited_answer_never_reaches_the_next_request(when: str) -> None:
    # Arrange: /3 is answered twice. "same_segment": both answers in one write; "split": the
    # second answer starts in that write and ends just before the answer to the next request
    # on the connection; "while_idle": the second answer comes once the client is idle.
    # Another order stays in flight meanwhile, so the idle deque has room for a duplicate.
    inject, release = asyncio.Event(), asyncio.Event()

    async def handler(path: bytes, writer: asyncio.StreamWriter, scratch: dict[str, bytes]) -> None:
        extra = answer(path)
        if path == b"/hold":
            async with asyncio.timeout(BOUND_S * 2):
                await release.wait()
            writer.write(answer(path))
        elif path != b"/3":
            writer.write(scratch.pop("carry", b"") + answer(path))
        elif when == "same_segment":
            writer.write(answer(path) + extra)
        elif when == "split":
            writer.write(answer(path) + extra[:20])
            scratch["carry"] = extra[20:]
        else:
            writer.write(answer(path))
            await writer.drain()
            async with asyncio.timeout(BOUND_S):
                await inject.wait()
            writer.write(extra)
        await writer.drain()

    async def dropped_by_client() -> None:
        try:
            async with asyncio.timeout(BOUND_S):
                await peer.client_closed.wait()
        except TimeoutError:
            pytest.fail("the pool kept using a connection that sent an unsolicited answer")

    async with hostile_server(handler) as peer, pool_for(peer, size=2) as pool:
        # Act + Assert
        held = await pool.send(get(b"/hold"))
        for n in (1, 2, 3):
            assert await body_of(pool, b"/%d" % n) == b"/%d" % n
            assert_no_connection_twice(pool)
        inject.set()
        if when == "while_idle":
            await dropped_by_client()

        assert await body_of(pool, b"/4") == b"/4", "request 4 got another request's answer"
        await dropped_by_client()
        assert_no_connection_twice(pool)
        five, six = await pool.send(get(b"/5")), await pool.send(get(b"/6"))
        assert [await outcome(five), await outcome(six)] == [b"/5", b"/6"]
        assert_no_connection_twice(pool)
        release.set()
        assert await outcome(held) == b"/hold"
        assert_no_connection_twice(pool)


async def test_answer_to_an_abandoned_request_never_reaches_the_next_one() -> None:
    release = asyncio.Event()

    async def handler(path: bytes, writer: asyncio.StreamWriter, scratch: dict[str, bytes]) -> None:
        if path == b"/late":
            async with asyncio.timeout(BOUND_S):
                await release.wait()
        writer.write(answer(path))
        with contextlib.suppress(ConnectionError):
            await writer.drain()

    async with hostile_server(handler) as peer, pool_for(peer) as pool:
        with pytest.raises(HttpError, match="no response within") as info:
            async with asyncio.timeout(BOUND_S):
                await pool.request(get(b"/late"), timeout_s=0.05)
        assert info.value.written
        release.set()
        async with asyncio.timeout(BOUND_S):
            await peer.client_closed.wait()  # the late answer has nowhere to go

        assert await body_of(pool, b"/7") == b"/7"
        assert_no_connection_twice(pool)


# -- an answer without end ---------------------------------------------------------------------


def endless(kind: str) -> tuple[bytes, bytes]:
    """(head, block repeated forever) of a response that never completes."""
    if kind == "chunked_64k":
        data = b"x" * 65536
        return (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"10000\r\n" + data + b"\r\n",
        )
    if kind == "chunked_2b":  # one parser callback and one bytes object per two body bytes
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"2\r\nxy\r\n" * 8192
    if kind == "content_length":
        return b"HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n", b"x" * 65536
    assert kind == "header"  # one header line that never ends
    return b"HTTP/1.1 200 OK\r\nX-Junk: ", b"a" * 65536


def streaming_handler(kind: str, peer: Peer, cap: int) -> Handler:
    head, block = endless(kind)

    async def handler(path: bytes, writer: asyncio.StreamWriter, scratch: dict[str, bytes]) -> None:
        writer.write(head)
        with contextlib.suppress(ConnectionError):
            while peer.sent < cap:  # the cap keeps an unfixed client from eating the machine
                writer.write(block)
                peer.sent += len(block)
                await writer.drain()
            peer.capped.set()
            async with asyncio.timeout(BOUND_S * 2):
                await writer.wait_closed()  # hold the connection open, answer unfinished

    return handler


@pytest.mark.parametrize("kind", ["chunked_64k", "chunked_2b", "content_length", "header"])
async def test_endless_answer_fails_the_request_with_bounded_memory(kind: str) -> None:
    # Arrange: the peer streams up to three times the default limit, then stalls.
    peer = Peer()
    handler = streaming_handler(kind, peer, cap=3 * DEFAULT_MAX_BODY)

    async with hostile_server(handler, peer), pool_for(peer) as pool:
        tracemalloc.start()
        try:
            # Act: a request timeout far beyond what reading the limit takes.
            with pytest.raises(HttpError) as info:
                async with asyncio.timeout(BOUND_S * 2):
                    await pool.request(get(b"/orders"), timeout_s=BOUND_S)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

        # Assert: failed by the limit (not the timeout), in one line, connection dropped.
        message = str(info.value)
        assert "limit" in message, message
        assert "\n" not in message
        assert info.value.written
        assert not peer.capped.is_set(), f"the peer streamed {peer.sent} bytes unread"
        assert peak < 3 * DEFAULT_MAX_BODY, f"the client held {peak} bytes"
        async with asyncio.timeout(BOUND_S):
            await peer.client_closed.wait()


async def test_body_limit_is_a_pool_setting_and_a_large_answer_within_it_is_read() -> None:
    big = b"o" * (4 * 1024 * 1024)  # a list of 500 orders is a few MB

    async def handler(path: bytes, writer: asyncio.StreamWriter, scratch: dict[str, bytes]) -> None:
        writer.write(answer(big if path == b"/orders" else path))
        with contextlib.suppress(ConnectionError):
            await writer.drain()

    async with hostile_server(handler) as peer:
        async with pool_for(peer) as pool:
            assert await body_of(pool, b"/orders") == big
        async with pool_for(peer, max_body_bytes=1024 * 1024) as pool:
            with pytest.raises(HttpError, match="limit") as info:
                await body_of(pool, b"/orders")
            assert info.value.written
            assert await body_of(pool, b"/ok") == b"/ok"  # on a new connection


# -- a 200 whose body is not what the endpoint returns ----------------------------------------


@pytest.mark.parametrize(
    "body", [b"<html>proxy error</html>", b'{"cash": ', b'{"cash": "12.5", "status": 7}']
)
async def test_an_unreadable_200_body_on_a_get_is_a_broker_error_not_a_crash(body: bytes) -> None:
    from tradewire.errors import RetryableBrokerError
    from tradewire.venues.alpaca.client import AlpacaClient

    async def handler(path: bytes, writer: asyncio.StreamWriter, _: dict[str, bytes]) -> None:
        writer.write(answer(body))
        await writer.drain()

    async with hostile_server(handler) as peer:
        client = AlpacaClient("k", "s", base_url=peer.url)
        try:
            async with asyncio.timeout(BOUND_S):
                # connect() reads the clock: the first GET a start-up makes
                with pytest.raises(RetryableBrokerError, match=r"GET /v2/clock: .*not a valid"):
                    await client.connect()
                with pytest.raises(RetryableBrokerError, match=r"GET /v2/account: .*not a valid"):
                    await client.get_account()
        finally:
            await client.close()
    assert peer.connections >= 1


CLOCK = (
    b'{"timestamp": "2026-11-25T10:00:00-05:00", "is_open": true, '
    b'"next_open": "2026-11-26T09:30:00-05:00", "next_close": "2026-11-25T16:00:00-05:00"}'
)


async def test_an_unreadable_200_to_an_order_is_settled_by_lookup_not_a_crash() -> None:
    # The order may have landed: the answer cannot be read, so it is an unknown outcome the
    # client settles by client_order_id, never an exception out of the submit task.
    from tradewire.errors import OrderOutcomeUnknown, RetryableBrokerError
    from tradewire.venues.alpaca.client import AlpacaClient
    from tradewire.venues.alpaca.config import AlpacaBrokerConfig
    from tradewire.venues.alpaca.requests import build_order

    async def handler(path: bytes, writer: asyncio.StreamWriter, _: dict[str, bytes]) -> None:
        if path.startswith(b"/v2/clock"):
            writer.write(answer(CLOCK))
        elif path.startswith(b"/v2/orders:by_client_order_id"):
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}")
        else:
            writer.write(answer(b"<html>"))
        await writer.drain()

    async with hostile_server(handler) as peer:
        # Lookups 10× closer together than the default (0.2 s doubling: 6 s in all), the
        # same five of them.
        config = AlpacaBrokerConfig(resolve_backoff_s=0.02)
        client = AlpacaClient("k", "s", base_url=peer.url, config=config)
        try:
            async with asyncio.timeout(BOUND_S * 4):
                await client.connect()
                request = build_order(
                    symbol="AAPL",
                    side="buy",
                    order_type="limit",
                    time_in_force="day",
                    qty=1,
                    limit_price=10.0,
                    stop_price=None,
                    extended_hours=False,
                    client_order_id="c-unreadable",
                )
                with pytest.raises((OrderOutcomeUnknown, RetryableBrokerError)):
                    await client.submit_order_nowait(request)
        finally:
            await client.close()
