"""HTTP/1.1 transports for the order path: a raw asyncio Protocol + httptools, and aiohttp.

Both keep persistent connections warm, set TCP_NODELAY, and tell apart a failure before any
byte was written (safe to resend) from one after (the order may have landed). The raw
transport also lets the engine write an order synchronously and await the answer later.

Measured by ``python -m tradewire.bench.http_order_path --count 1000`` on this machine
(2 vCPUs, loopback, uvloop, each contender and server in its own process, 2026-11-24),
order round trip in µs, p50 / p99:

- fixed-response server: raw Protocol + httptools 29 / 40, aiohttp 77 / 91, alpaca-py 419 / 448;
- broker simulator:      raw Protocol + httptools 225 / 341, aiohttp 305 / 453, alpaca-py 654 / 794.

aiohttp costs ~48 µs more per request than the raw path, so the raw path is the default
(DESIGN.md allows hand-written framing only where the library measures slower; responses
are still parsed by httptools). aiohttp stays as the comparison contender, in
``http_aiohttp.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections import deque
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

import httptools

from tradewire.errors import TradewireError
from tradewire.tuning.outcome import Outcome
from tradewire.tuning.sockets import SocketOptions

# Alpaca's largest answers (pages of 500 orders) are a few MB; anything far beyond is a broken
# or hostile peer, read only until this limit so it cannot exhaust memory before the timeout.
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 100
# Each body piece is a bytes object plus a list slot; charging that to the budget keeps a peer
# sending one-byte chunks (one piece per byte) from holding ~40x the limit in object headers.
_PIECE_COST = 64


class HttpError(TradewireError):
    """Transport-level failure. ``written`` says whether the request may have reached the peer."""

    def __init__(self, message: str, *, written: bool, unreachable: bool = False) -> None:
        super().__init__(message)
        self.written = written
        # No connection could be made at all: the message says everything (the URL and the
        # OS's reason), so callers raise their own error without chaining this one.
        self.unreachable = unreachable


@dataclass(slots=True)
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def split_url(url: str) -> tuple[str, int, bool, str]:
    """``https://paper-api.alpaca.markets`` → (host, port, tls, Host header value)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    default = (tls and port == 443) or (not tls and port == 80)
    host_header = parts.hostname if default else f"{parts.hostname}:{port}"
    return parts.hostname, port, tls, host_header


def tune_socket(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is None:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    except OSError:  # not TCP (tests with unix sockets): nothing to tune
        return


class _PeerViolation(Exception):
    """Raised in a parser callback: stops httptools mid-buffer, so nothing after the violation
    is parsed or matched to a request."""


class _Connection(asyncio.Protocol):
    # One keep-alive HTTP/1.1 connection, one request in flight (no pipelining: a lost
    # response must never be matched to the next request). HTTP/1.1 answers carry no request
    # id, so an answer that begins while no request waits is one nobody asked for: the
    # connection is dropped, since whatever it sends next could be taken for the next answer.
    # (An unsolicited answer that begins only after the next request was written cannot be
    # told apart from the real one on the wire.)
    def __init__(self, pool: RawHttpPool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        # The loop the connection lives on, known once it is made: asyncio.get_running_loop()
        # costs a getpid() syscall per call on CPython 3.11 (issue 26's profile).
        self.loop: asyncio.AbstractEventLoop | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Response] | None = None
        self.closed = False
        self._status = 0
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._body_cost = 0
        self._keep_alive = True
        self._max_body = pool.max_body_bytes
        self._max_header = pool.max_header_bytes
        # Bytes of the current answer seen on the wire, checked once per read: bounds what
        # httptools buffers itself (an endless header or trailer line) before any callback.
        self._wire = 0
        self._wire_limit = self._max_header

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCPTransport does not subclass asyncio.Transport, but has its interface.
        self.transport = cast(asyncio.Transport, transport)
        self.loop = asyncio.get_running_loop()
        tune_socket(transport)
        options = self.pool.socket_options
        sock = transport.get_extra_info("socket")
        if options is not None and sock is not None:
            outcomes = options.apply(sock)
            if self.pool.socket_outcomes is None:
                self.pool.socket_outcomes = outcomes

    def data_received(self, data: bytes) -> None:
        self._wire += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            if isinstance(cause, _PeerViolation):
                self._drop(str(cause))
            else:
                self._drop(f"malformed HTTP response: {exc}")
            return
        if self._wire > self._wire_limit:
            self._drop(f"response over the {self._wire_limit}-byte limit, still unfinished")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(HttpError(f"connection lost: {exc or 'closed by peer'}", written=True))
        self.pool._discard(self)

    # httptools callbacks
    def on_message_begin(self) -> None:
        if self.waiter is None:
            raise _PeerViolation("unsolicited HTTP response (no request waiting)")
        self._headers = {}
        self._body = []
        self._body_cost = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self._headers) >= MAX_HEADERS:  # headers and trailers alike
            raise _PeerViolation(f"response with more than {MAX_HEADERS} headers")
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._status = self.parser.get_status_code()
        self._keep_alive = self.parser.should_keep_alive()
        length = self._headers.get("content-length", "")
        if length.isdigit() and int(length) > self._max_body:
            raise _PeerViolation(
                f"response body of {length} bytes over the {self._max_body}-byte limit"
            )
        # The body may bring chunk framing and trailers on top of the head: budget for both.
        self._wire_limit = self._max_header * 2 + self._max_body

    def on_body(self, body: bytes) -> None:
        self._body_cost += len(body) + _PIECE_COST
        if self._body_cost > self._max_body:
            raise _PeerViolation(f"response body over the {self._max_body}-byte limit")
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter, self.waiter = self.waiter, None
        self._wire = 0
        self._wire_limit = self._max_header
        if waiter is None:  # abandoned mid-answer: the connection is closed already
            return
        response = Response(self._status, self._headers, b"".join(self._body))
        if not self._keep_alive:
            self.close()
        else:
            self.pool._release(self)
        if not waiter.done():
            waiter.set_result(response)

    # ours
    def send(self, raw: bytes) -> asyncio.Future[Response]:
        assert self.transport is not None
        assert self.loop is not None
        waiter = self.loop.create_future()
        self.waiter = waiter
        self.transport.write(raw)
        return waiter

    def _fail(self, exc: HttpError) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def _drop(self, reason: str) -> None:
        # The peer broke the protocol: whatever it sends next cannot be trusted to belong to
        # any request, so the connection leaves the pool at once.
        self._fail(HttpError(f"{reason}; connection to {self.pool.host} closed", written=True))
        self.close()
        self.pool._discard(self)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class RawHttpPool:
    """Persistent connections to one origin; requests are written synchronously when a
    warm connection is idle, so the order path has no await before the bytes leave.

    ``max_body_bytes`` and ``max_header_bytes`` cap what one answer may make us hold: a peer
    streaming without end fails the request (``HttpError``, ``written=True``) within that many
    bytes instead of growing memory until the request timeout.

    ``size`` connections stay warm; at most ``max_connections`` are ever open (a slow broker
    once made the pool open 351, each request a new one). A request beyond that waits for a
    connection in FIFO order, at most ``acquire_timeout_s`` (or its ``timeout_s``); past it
    it fails as never written (``HttpError``, ``written=False``), so it is safe to resend.
    """

    def __init__(
        self,
        base_url: str,
        *,
        size: int = 2,
        connect_timeout_s: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
        socket_options: SocketOptions | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        max_connections: int | None = None,
        acquire_timeout_s: float = 5.0,
    ) -> None:
        self.host, self.port, tls, self.host_header = split_url(base_url)
        self.base_url = base_url.rstrip("/")
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.socket_options = socket_options
        self.socket_outcomes: list[Outcome] | None = None  # the first connection's
        self.size = size
        self.max_connections = max(16, 2 * size) if max_connections is None else max_connections
        if self.max_connections < size:
            raise ValueError(f"max_connections {self.max_connections} is below size {size}")
        self.acquire_timeout_s = acquire_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._ssl = (ssl_context or ssl.create_default_context()) if tls else None
        self._idle: deque[_Connection] = deque()
        self._all: set[_Connection] = set()
        self._closing = False
        # Connections being opened (each holds a slot), and requests waiting for one: a
        # waiter gets a connection, or None when it was given a free slot to open one in.
        self._opening = 0
        self._waiters: deque[asyncio.Future[_Connection | None]] = deque()

    def __repr__(self) -> str:
        return (
            f"RawHttpPool({self.host}:{self.port}, idle={len(self._idle)}, open={len(self._all)})"
        )

    async def warm(self) -> None:
        """Open connections until ``size`` are idle (pre-warming before trading)."""
        while len(self._all) < self.size:
            self._idle.append(await self._open())

    async def _open(self, *, reserved: bool = False) -> _Connection:
        # ``reserved``: the slot was counted in ``_opening`` by :meth:`_wake_for_slot`.
        loop = asyncio.get_running_loop()
        if not reserved:
            self._opening += 1
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                _, proto = await loop.create_connection(
                    lambda: _Connection(self),
                    self.host,
                    self.port,
                    ssl=self._ssl,
                    server_hostname=self.host if self._ssl else None,
                )
            assert isinstance(proto, _Connection)
            self._all.add(proto)  # before the slot is given up below
        except ConnectionRefusedError:
            raise HttpError(
                f"cannot connect to {self.base_url}: connection refused (nothing listens "
                "there: is the broker, e.g. `tradewire sim`, running at that URL?)",
                written=False,
                unreachable=True,
            ) from None
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise HttpError(
                f"cannot connect to {self.base_url}: {why}", written=False, unreachable=True
            ) from exc
        finally:
            self._opening -= 1
            self._wake_for_slot()  # the slot is free again if this open failed
        return proto

    def try_send(self, raw: bytes) -> asyncio.Future[Response] | None:
        """Write now on an idle warm connection; ``None`` if none is idle (use :meth:`send`)."""
        while self._idle:
            conn = self._idle.popleft()
            if not conn.closed:
                return conn.send(raw)
        return None

    async def send(self, raw: bytes, *, timeout_s: float | None = None) -> asyncio.Future[Response]:
        """Write on an idle connection, opening one if below the maximum, else waiting (FIFO)
        for one at most ``timeout_s`` (default ``acquire_timeout_s``); returns the answer."""
        fut = self.try_send(raw)
        if fut is not None:
            return fut
        conn = await self._acquire(self.acquire_timeout_s if timeout_s is None else timeout_s)
        return conn.send(raw)

    async def _acquire(self, timeout_s: float) -> _Connection:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        reserved = False
        while True:
            while self._idle and not reserved:
                conn = self._idle.popleft()
                if not conn.closed:
                    return conn
            if reserved or (not self._waiters and self._has_slot()):
                return await self._open(reserved=reserved)
            waiter: asyncio.Future[_Connection | None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout_at(deadline):
                    got = await waiter
            except (TimeoutError, asyncio.CancelledError) as exc:
                self._give_back(waiter)
                if isinstance(exc, TimeoutError):
                    raise HttpError(
                        f"no connection to {self.host}:{self.port} free within {timeout_s:.3f}s "
                        f"({self.max_connections} open, the most allowed)",
                        written=False,
                    ) from None
                raise
            if got is None:
                reserved = True  # a slot was handed over: open in it
            elif not got.closed:
                return got

    def _has_slot(self) -> bool:
        return len(self._all) + self._opening < self.max_connections

    def _give_back(self, waiter: asyncio.Future[_Connection | None]) -> None:
        # A waiter that gave up, but may have been handed a connection or slot meanwhile.
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)
        if not waiter.done() or waiter.cancelled():
            return
        got = waiter.result()
        if got is None:
            self._opening -= 1
            self._wake_for_slot()
        else:
            self._release(got)

    def _wake_for_slot(self) -> None:
        # A connection closed or an open failed: the first waiters may open one each.
        while self._waiters and self._has_slot() and not self._closing:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._opening += 1
                waiter.set_result(None)

    async def request(self, raw: bytes, *, timeout_s: float) -> Response:
        fut = await self.send(raw, timeout_s=timeout_s)
        try:
            async with asyncio.timeout(timeout_s):
                return await asyncio.shield(fut)
        except TimeoutError:
            self.abandon(fut)
            raise HttpError(f"no response within {timeout_s:.3f}s", written=True) from None

    def abandon(self, fut: asyncio.Future[Response]) -> None:
        """Give up on a sent request (from :meth:`send` or :meth:`try_send`) whose answer is
        late: its connection is closed, since it must never serve another request, and ``fut``
        is cancelled."""
        for conn in list(self._all):
            if conn.waiter is fut:
                conn.waiter = None
                conn.close()
        if not fut.done():
            fut.cancel()

    def _release(self, conn: _Connection) -> None:
        # ``in`` scans at most ``size`` entries; a connection idle twice would be handed to
        # two requests at once, and the second would take the first one's answer.
        if self._closing or conn.closed or conn in self._idle:
            return
        while self._waiters:  # the longest waiting request takes it (FIFO)
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        if len(self._idle) >= self.size:
            conn.close()
            self._all.discard(conn)
            return
        self._idle.append(conn)

    def _discard(self, conn: _Connection) -> None:
        self._all.discard(conn)
        with contextlib.suppress(ValueError):
            self._idle.remove(conn)
        self._wake_for_slot()

    async def close(self) -> None:
        self._closing = True
        for conn in list(self._all):
            conn.close()
        self._all.clear()
        self._idle.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(HttpError("connection pool closed", written=False))
        await asyncio.sleep(0)
