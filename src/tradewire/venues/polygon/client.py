"""Polygon/Massive WebSocket client on picows: thin I/O around :class:`FeedSession`.

A frame goes from picows' ``on_ws_frame`` to the session's decoder and from there straight
into the handlers, on the same call stack: no queue, no task hop (DESIGN.md, hot path).
Async handlers are the exception: they run in arrival order on one consumer task, which
costs a hop, so latency-sensitive code should use plain functions.

A supervisor task owns the connection: it reconnects with jittered backoff after any
abnormal end, re-authenticates, re-sends the full subscription set, recycles a stale feed,
and never gives up silently (every attempt logs a WARNING; an attempt cap raises from
:meth:`PolygonClient.run`). An auth failure is final.

Usage (the seed's)::

    client = PolygonClient(api_key)
    await client.subscribe_quotes(["AAPL", "GOOGL"], on_quote)  # quote.symbol, quote.price
    await client.run()
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect
from pydantic import SecretStr

from tradewire.errors import AuthError, FeedClosedError, MaxConnectionsError, StaleFeedError
from tradewire.net.backoff import backoff
from tradewire.tuning.outcome import Outcome
from tradewire.tuning.sockets import SocketOptions
from tradewire.venues.polygon.config import PolygonFeedConfig
from tradewire.venues.polygon.messages import MarketEvent
from tradewire.venues.polygon.protocol import (
    Authenticated,
    FeedSession,
    ServerNotice,
    SessionError,
    SessionState,
    SubscriptionAck,
    normalize_channels,
)

log = logging.getLogger(__name__)

Handler = Callable[[Any], None] | Callable[[Any], Awaitable[None]]
FrameSink = Callable[[list[MarketEvent], int], None]
"""Hot-path hook: called with each frame's events and its receive time (perf_counter_ns)."""

ROUTE_CACHE_MAX = 4096
"""Resolved routes cached per (channel, ticker). Routes the user subscribed to by name are
always cached; other tickers (wildcards, or a peer sending what we never asked for) only up
to this many, so the server cannot grow our memory one symbol at a time."""


class _FeedListener(WSListener):
    # picows calls these on the event loop; everything stays synchronous.
    def __init__(self, client: PolygonClient) -> None:
        self.client = client
        self.transport: WSTransport | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self.abandoned = False

    def abandon(self) -> None:
        """The client gave up on this attempt: never report it, end it if it connects."""
        self.abandoned = True
        if self.transport is not None:
            self.transport.disconnect()

    def on_ws_connected(self, transport: WSTransport) -> None:
        if self.abandoned:
            transport.send_close(WSCloseCode.GOING_AWAY)
            transport.disconnect()
            return
        self.transport = transport
        self.client._on_connected(self, transport)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        recv_ns = time.perf_counter_ns()
        msg_type = frame.msg_type
        if msg_type is WSMsgType.TEXT or msg_type is WSMsgType.BINARY:
            self.client._on_frame(transport, frame.get_payload_as_memoryview(), recv_ns)
        elif msg_type is WSMsgType.CLOSE:
            code = frame.get_close_code()
            self.close_code = code.value if isinstance(code, WSCloseCode) else int(code)
            self.close_reason = (frame.get_close_message() or b"").decode(errors="replace")
            transport.send_close(code if isinstance(code, WSCloseCode) else WSCloseCode.OK)
            transport.disconnect()


class PolygonClient:
    """Typed, reconnecting Polygon stocks feed.

    Args:
        api_key: The Polygon/Massive key (str or SecretStr); overrides ``config.api_key``.
        url: Full WebSocket URL (e.g. ``ws://127.0.0.1:PORT/stocks`` for the simulator);
            overrides ``config``'s feed host.
        config: Everything else; defaults to the real-time stocks feed.
        seed: Seed for the reconnect jitter, for reproducible tests.
    """

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        *,
        url: str | None = None,
        config: PolygonFeedConfig | None = None,
        seed: int | None = None,
        socket_options: SocketOptions | None = None,
    ) -> None:
        cfg = config or PolygonFeedConfig()
        key = api_key if api_key is not None else cfg.api_key
        if key is None:
            raise AuthError("no Polygon API key: pass api_key= or set POLYGON_API_KEY")
        self._key = key if isinstance(key, SecretStr) else SecretStr(key)
        self.config = cfg
        self.url = url or cfg.url
        self.session = FeedSession(self._key)
        self._seed = seed
        self._routes: dict[tuple[str, str], list[Handler]] = {}
        self._route_cache: dict[tuple[str, str], tuple[Handler, ...]] = {}
        self._sinks: list[FrameSink] = []
        self._async_queue: asyncio.Queue[Awaitable[None]] | None = None
        self._async_task: asyncio.Task[None] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._listener: _FeedListener | None = None
        self._authenticated: asyncio.Event | None = None
        self._ack_waiters: dict[str, asyncio.Future[None]] = {}
        self._terminal: BaseException | None = None
        self._closing = False
        # Set by close(): wakes the supervisor out of a backoff sleep or a pending connect.
        self._wake = asyncio.Event()
        # One timer per connection for the current handshake step (connected, then auth).
        self._handshake_timer: asyncio.TimerHandle | None = None
        self._awaiting_greeting = False
        self._attempt_error: FeedClosedError | None = None
        self.last_failure: str | None = None
        # From the engine's tuning config; applied to every new connection.
        self.socket_options = socket_options
        self.socket_outcomes: list[Outcome] | None = None
        self._last_frame = 0.0
        self.on_stale: Callable[[StaleFeedError], None] | None = None
        self.on_notice: Callable[[ServerNotice], None] | None = None
        # Plain-int counters for metrics.
        self.reconnects = 0
        self.stale_events = 0
        self.handler_errors = 0
        self.connected_at: float | None = None

    def __repr__(self) -> str:
        return f"PolygonClient(url={self.url!r}, state={self.session.state.value})"

    # -- public API ----------------------------------------------------------------------

    @property
    def is_authenticated(self) -> bool:
        return self.session.state is SessionState.AUTHENTICATED

    def on_events(self, sink: FrameSink) -> None:
        """Register a hot-path sink that receives every frame's events with its receive time."""
        self._sinks.append(sink)

    async def connect(self, timeout_s: float | None = None) -> None:
        """Start the connection (if not started) and wait until authenticated.

        Waits at most ``timeout_s`` (default ``config.ready_timeout_s``). On that timeout the
        supervisor keeps reconnecting in the background: call :meth:`close` to stop it, or
        ``connect()`` again to keep waiting.

        Raises:
            AuthError: the key was refused.
            FeedClosedError: the client gave up, was closed, or the feed was not ready in time
                (the message names the last attempt's failure, e.g. a handshake timeout).
        """
        if self._supervisor is None:
            self._authenticated = asyncio.Event()
            self._supervisor = asyncio.get_running_loop().create_task(
                self._supervise(), name="polygon-feed"
            )
        assert self._authenticated is not None
        limit = self.config.ready_timeout_s if timeout_s is None else timeout_s
        waiter = asyncio.ensure_future(self._authenticated.wait())
        try:
            done, _ = await asyncio.wait(
                {waiter, self._supervisor}, timeout=limit, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
        if waiter in done:
            return
        if self._supervisor.done():
            self._raise_terminal()
            raise FeedClosedError("feed stopped before authenticating")
        raise FeedClosedError(
            f"polygon feed {self.url} not ready within {limit:g}s"
            f" (last attempt: {self.last_failure or 'still connecting'})"
        )

    async def subscribe(
        self, channels: Iterable[str], handler: Handler | None = None, *, ack_timeout_s: float = 5.0
    ) -> None:
        """Subscribe to ``CHANNEL.TICKER`` channels and route their events to ``handler``.

        Returns once the server acknowledged every new channel (or ``ack_timeout_s`` passed,
        which is logged: some servers do not ack). Connects first if needed.
        """
        chans = normalize_channels(channels)
        if handler is not None:
            for ch in chans:
                prefix, _, ticker = ch.partition(".")
                self._routes.setdefault((prefix, ticker), []).append(handler)
            self._route_cache.clear()
        await self.connect()
        loop = asyncio.get_running_loop()
        new = self.session.subscribe(chans)
        waiters = []
        for ch in new:
            fut = self._ack_waiters.get(ch)
            if fut is None or fut.done():
                fut = loop.create_future()
                self._ack_waiters[ch] = fut
            waiters.append(fut)
        self._flush()
        if waiters:
            try:
                async with asyncio.timeout(ack_timeout_s):
                    await asyncio.gather(*waiters)
            except TimeoutError:
                log.warning("polygon: no subscribe ack within %.1fs for %s", ack_timeout_s, new)

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        """Stop receiving ``channels``; their handlers are removed."""
        chans = normalize_channels(channels)
        for ch in chans:
            prefix, _, ticker = ch.partition(".")
            self._routes.pop((prefix, ticker), None)
        self._route_cache.clear()
        self.session.unsubscribe(chans)
        self._flush()

    async def subscribe_quotes(
        self, symbols: Iterable[str], handler: Handler | None = None
    ) -> None:
        """NBBO quotes (``Quote``) for ``symbols``; ``["*"]`` means every ticker."""
        await self.subscribe([f"Q.{s}" for s in symbols], handler)

    async def subscribe_trades(
        self, symbols: Iterable[str], handler: Handler | None = None
    ) -> None:
        await self.subscribe([f"T.{s}" for s in symbols], handler)

    async def subscribe_aggregates(
        self, symbols: Iterable[str], handler: Handler | None = None
    ) -> None:
        """Per-second bars (``Aggregate``)."""
        await self.subscribe([f"A.{s}" for s in symbols], handler)

    async def subscribe_minute_aggregates(
        self, symbols: Iterable[str], handler: Handler | None = None
    ) -> None:
        """Per-minute bars (``MinuteAggregate``)."""
        await self.subscribe([f"AM.{s}" for s in symbols], handler)

    async def subscribe_luld(self, symbols: Iterable[str], handler: Handler | None = None) -> None:
        await self.subscribe([f"LULD.{s}" for s in symbols], handler)

    async def unsubscribe_quotes(self, symbols: Iterable[str]) -> None:
        await self.unsubscribe([f"Q.{s}" for s in symbols])

    async def unsubscribe_trades(self, symbols: Iterable[str]) -> None:
        await self.unsubscribe([f"T.{s}" for s in symbols])

    async def run(self) -> None:
        """Wait until the client stops: returns after :meth:`close`, raises a terminal error."""
        if self._supervisor is None:
            await self.connect()
        assert self._supervisor is not None
        await asyncio.shield(self._supervisor)
        self._raise_terminal()

    wait_closed = run

    async def close(self) -> None:
        """Close with 1000 and stop reconnecting; pending async handlers are drained."""
        self._closing = True
        self._wake.set()
        listener = self._listener
        if listener is not None and listener.transport is not None:
            listener.transport.send_close(WSCloseCode.OK)
            listener.transport.disconnect()
        if self._supervisor is not None:
            await asyncio.gather(self._supervisor, return_exceptions=True)
        if self._async_task is not None:
            assert self._async_queue is not None
            await self._async_queue.join()
            self._async_task.cancel()
            await asyncio.gather(self._async_task, return_exceptions=True)
        self.session.close()

    async def __aenter__(self) -> PolygonClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- hot path ------------------------------------------------------------------------

    def _on_frame(self, transport: WSTransport, payload: memoryview, recv_ns: int) -> None:
        self._last_frame = time.monotonic()
        session = self.session
        events = session.receive(payload)
        if session.control_events:
            self._on_control(transport)
        elif session.has_output:
            self._on_output(transport)
        if not events:
            return
        for sink in self._sinks:
            sink(events, recv_ns)
        if self._routes:
            self._dispatch(events)

    def _dispatch(self, events: list[MarketEvent]) -> None:
        cache = self._route_cache
        for event in events:
            key = (event.channel, event.symbol)
            handlers = cache.get(key)
            if handlers is None:
                handlers = self._resolve(key)
            for handler in handlers:
                try:
                    result = handler(event)
                except Exception:
                    self.handler_errors += 1
                    log.exception("polygon: handler %r raised on %s", handler, key)
                    continue
                if result is not None and inspect.isawaitable(result):
                    self._enqueue_async(result)

    def _resolve(self, key: tuple[str, str]) -> tuple[Handler, ...]:
        # Specific and wildcard routes, each handler once (a handler on both gets one call).
        # Bound methods are new objects on every access, so compare by equality, not identity.
        seen: list[Handler] = []
        for route in (key, (key[0], "*")):
            seen.extend(h for h in self._routes.get(route, ()) if h not in seen)
        handlers = tuple(seen)
        cache = self._route_cache
        if key in self._routes or len(cache) < ROUTE_CACHE_MAX:
            cache[key] = handlers
        return handlers

    def _enqueue_async(self, awaitable: Awaitable[None]) -> None:
        # Coroutines run in arrival order on one consumer task, so their order is kept.
        if self._async_queue is None:
            self._async_queue = asyncio.Queue()
            self._async_task = asyncio.get_running_loop().create_task(self._drain_async())
        self._async_queue.put_nowait(awaitable)

    async def _drain_async(self) -> None:
        assert self._async_queue is not None
        queue = self._async_queue
        while True:
            awaitable = await queue.get()
            try:
                await awaitable
            except Exception:
                self.handler_errors += 1
                log.exception("polygon: async handler raised")
            finally:
                queue.task_done()

    # -- control plane -------------------------------------------------------------------

    def _on_connected(self, listener: _FeedListener, transport: WSTransport) -> None:
        self._listener = listener
        self.session.reset()
        self._last_frame = time.monotonic()
        self._awaiting_greeting = True
        self._arm_handshake_timer(
            transport, self.config.handshake_timeout_s, "no 'connected' status from the server"
        )
        sock = transport.underlying_transport.get_extra_info("socket")
        if sock is not None and self.socket_options is not None:
            outcomes = self.socket_options.apply(sock)
            if self.socket_outcomes is None:
                self.socket_outcomes = outcomes
        elif sock is not None and self.config.tcp_nodelay:
            # Not a TCP socket (e.g. a proxy tunnel): nothing to tune.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _on_output(self, transport: WSTransport) -> None:
        # A frame left something to send but no control event: the server's "connected",
        # answered with auth. Control traffic only; market data never comes here.
        if self._awaiting_greeting:
            self._check_greeting(transport)
        self._flush_to(transport)

    def _check_greeting(self, transport: WSTransport) -> None:
        if self.session.state is not SessionState.CONNECTING:
            # "connected" arrived and auth is queued: the next step's clock starts now.
            self._awaiting_greeting = False
            self._arm_handshake_timer(
                transport, self.config.auth_timeout_s, "no answer to the auth request"
            )

    def _on_control(self, transport: WSTransport) -> None:
        if self._awaiting_greeting:
            self._check_greeting(transport)
        session = self.session
        events, session.control_events = session.control_events, []
        for ev in events:
            if isinstance(ev, Authenticated):
                self._cancel_handshake_timer()
                self.connected_at = time.monotonic()
                if self._authenticated is not None:
                    self._authenticated.set()
            elif isinstance(ev, SubscriptionAck):
                fut = self._ack_waiters.pop(ev.channel, None)
                if fut is not None and not fut.done():
                    fut.set_result(None)
            elif isinstance(ev, SessionError):
                if ev.fatal:
                    self._cancel_handshake_timer()
                    self._terminal = ev.error
                    self._closing = True
                    transport.send_close(WSCloseCode.OK)
                    transport.disconnect()
                elif isinstance(ev.error, MaxConnectionsError):
                    log.warning("polygon: %s", ev.error)
                    if not self.config.retry_on_max_connections:
                        self._terminal = ev.error
                        self._closing = True
            elif isinstance(ev, ServerNotice) and self.on_notice is not None:
                self.on_notice(ev)
        self._flush_to(transport)

    def _arm_handshake_timer(self, transport: WSTransport, timeout_s: float, what: str) -> None:
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
        self._handshake_timer = asyncio.get_running_loop().call_later(
            timeout_s, self._handshake_expired, transport, f"{what} within {timeout_s:g}s"
        )

    def _cancel_handshake_timer(self) -> None:
        self._awaiting_greeting = False
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
            self._handshake_timer = None

    def _handshake_expired(self, transport: WSTransport, why: str) -> None:
        # The attempt failed: drop it; the supervisor reconnects with backoff.
        self._handshake_timer = None
        self._attempt_error = FeedClosedError(f"handshake with {self.url} timed out: {why}")
        transport.send_close(WSCloseCode.POLICY_VIOLATION)
        transport.disconnect()

    def _flush(self) -> None:
        listener = self._listener
        if listener is not None and listener.transport is not None:
            self._flush_to(listener.transport)

    def _flush_to(self, transport: WSTransport) -> None:
        for message in self.session.data_to_send():
            transport.send(WSMsgType.TEXT, message)

    def _raise_terminal(self) -> None:
        if self._terminal is not None:
            raise self._terminal

    # -- supervisor ----------------------------------------------------------------------

    async def _supervise(self) -> None:
        import random

        cfg = self.config
        rng = random.Random(self._seed)

        def fresh() -> Any:
            return backoff(
                initial_s=cfg.reconnect_initial_s,
                factor=cfg.reconnect_factor,
                max_s=max(cfg.reconnect_max_s, cfg.reconnect_initial_s),
                rng=rng,
            )

        delays = fresh()
        failures = 0
        stale_timer = asyncio.get_running_loop().create_task(self._watch_stale())
        try:
            while not self._closing:
                reason = await self._connect_once()
                if self._closing:
                    break
                healthy = (
                    self.connected_at is not None
                    and time.monotonic() - self.connected_at >= cfg.healthy_after_s
                )
                if healthy:
                    delays, failures = fresh(), 0
                failures += 1
                if cfg.max_reconnect_attempts and failures > cfg.max_reconnect_attempts:
                    self._terminal = FeedClosedError(
                        f"polygon feed gave up after {failures - 1} reconnect attempts: {reason}"
                    )
                    break
                delay = next(delays)
                self.reconnects += 1
                log.warning(
                    "polygon: %s; reconnecting in %.2fs (attempt %d)", reason, delay, failures
                )
                # close() sets _wake: it must not wait out a backoff of up to reconnect_max_s.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
        finally:
            stale_timer.cancel()
            if self._authenticated is not None:
                self._authenticated.clear()

    async def _connect_once(self) -> str:
        # One connection's life; returns why it ended.
        reason = await self._connection_life()
        self.last_failure = reason
        return reason

    async def _open(self) -> _FeedListener | str:
        # ws_connect, bounded by connect_timeout_s (picows bounds only the upgrade, not the
        # TCP connect) and abandoned at once when close() sets _wake.
        created: list[_FeedListener] = []

        def factory() -> _FeedListener:
            listener = _FeedListener(self)
            created.append(listener)
            return listener

        cfg = self.config
        loop = asyncio.get_running_loop()
        connecting = loop.create_task(
            ws_connect(
                factory,
                self.url,
                websocket_handshake_timeout=cfg.connect_timeout_s,
                enable_auto_ping=True,
                auto_ping_idle_timeout=cfg.ping_interval_s,
                auto_ping_reply_timeout=cfg.ping_interval_s,
                max_frame_size=cfg.max_frame_size,
                disconnect_on_exception=True,
            )
        )
        woken = loop.create_task(self._wake.wait())
        try:
            done, _ = await asyncio.wait(
                {connecting, woken},
                timeout=cfg.connect_timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            woken.cancel()
            if not connecting.done():
                # Cancelling during the upgrade leaves picows' transport open: abandoning the
                # listener ends it if the upgrade still completes.
                for listener in created:
                    listener.abandon()
                connecting.cancel()
                connecting.add_done_callback(_consume)
        if connecting not in done:
            if self._closing:
                return "closed while connecting"
            return f"connect to {self.url} failed: no WebSocket within {cfg.connect_timeout_s:g}s"
        try:
            _, opened = connecting.result()
        except (OSError, TimeoutError) as exc:
            return f"connect to {self.url} failed: {type(exc).__name__}: {exc}"
        except Exception as exc:  # picows handshake errors (HTTP 404/403/5xx …)
            return f"handshake with {self.url} failed: {type(exc).__name__}: {exc}"
        if not isinstance(opened, _FeedListener) or opened.transport is None:
            # picows returns without a listener when the peer hangs up mid-upgrade.
            return f"handshake with {self.url} failed: connection closed during the upgrade"
        return opened

    async def _connection_life(self) -> str:
        self.connected_at = None
        self._attempt_error = None
        try:
            opened = await self._open()
            if isinstance(opened, str):
                return opened
            return await self._run_connection(opened)
        finally:
            self._cancel_handshake_timer()

    async def _run_connection(self, listener: _FeedListener) -> str:
        assert listener.transport is not None
        if self._closing:
            # close() ran while the handshake was in flight: it could not see this
            # connection, so nothing else would ever end it.
            listener.transport.send_close(WSCloseCode.OK)
            listener.transport.disconnect()
            return "closed while connecting"
        try:
            await listener.transport.wait_disconnected()
        except Exception as exc:  # picows re-raises what our frame callback raised
            log.exception("polygon: frame processing failed; dropping the connection")
            return f"frame processing failed: {type(exc).__name__}: {exc}"
        if self._authenticated is not None:
            self._authenticated.clear()
        if self._attempt_error is not None:
            return str(self._attempt_error)  # the supervisor logs it with the retry delay
        code = listener.close_code
        if code in (1000, 1001) and not self.config.reconnect_on_clean_close and not self._closing:
            self._terminal = FeedClosedError("server closed the feed cleanly", code=code)
            self._closing = True
        if code is None:
            return "connection dropped without a close frame"
        return f"server closed the connection (code {code} {listener.close_reason!r})"

    async def _watch_stale(self) -> None:
        threshold = self.config.stale_after_s
        if threshold <= 0:
            return
        while True:
            await asyncio.sleep(threshold / 4)
            listener = self._listener
            if (
                self.is_authenticated
                and self.session.desired
                and listener is not None
                and listener.transport is not None
                and time.monotonic() - self._last_frame > threshold
            ):
                self.stale_events += 1
                err = StaleFeedError(
                    f"no market data for {threshold:.1f}s; recycling the connection"
                )
                log.warning("polygon: %s", err)
                if self.on_stale is not None:
                    self.on_stale(err)
                self._last_frame = time.monotonic()
                listener.transport.disconnect()


def _consume(task: asyncio.Task[Any]) -> None:
    # An abandoned ws_connect: retrieve its outcome so asyncio does not log it as lost.
    if not task.cancelled():
        task.exception()
