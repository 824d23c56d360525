"""Polygon/Massive WebSocket client on picows: thin I/O around :class:`FeedSession`.

A frame goes from picows' ``on_ws_frame`` to the session's decoder and from there straight
into the handlers, on the same call stack: no queue, no task hop (DESIGN.md, hot path).
Async handlers are the exception: they run in arrival order on one consumer task, which
costs a hop, so latency-sensitive code should use plain functions.

The connection is the shared :class:`~tradewire.net.websocket.ReconnectingWebSocket` (the
trade stream uses the same one): it reconnects with jittered backoff after any abnormal end;
this client re-authenticates, re-sends the full subscription set, bounds every handshake step,
recycles a stale feed, and never gives up silently (every attempt logs a WARNING; an attempt
cap raises from :meth:`PolygonClient.run`). An auth failure is final.

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

from picows import WSMsgType, WSTransport
from pydantic import SecretStr

from tradewire.configbase import POLYGON_KEY_VARS, POLYGON_URL_VARS, from_environment
from tradewire.errors import (
    AuthError,
    FeedClosedError,
    MaxConnectionsError,
    StaleFeedError,
    TradewireError,
)
from tradewire.net.interrupt import ctrl_c_calls
from tradewire.net.websocket import ReconnectingWebSocket, WebSocketOptions
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
    market_url,
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


def _ending(task: asyncio.Task[None]) -> bool:
    return task.done() or task.cancelling() > 0


def _discard(awaitable: Awaitable[None]) -> None:
    """Drop a handler's awaitable that will never run, without a "never awaited" warning."""
    if inspect.iscoroutine(awaitable):
        awaitable.close()


class PolygonClient:
    """Typed, reconnecting Polygon stocks feed.

    Args:
        api_key: The Polygon/Massive key (str or SecretStr); overrides ``config.api_key``.
        url: Full WebSocket URL (e.g. ``ws://127.0.0.1:PORT/stocks`` for the simulator);
            overrides ``config``'s feed host.
        market: The Massive cluster: ``stocks`` (default), ``crypto`` or ``options``; its path
            replaces the URL's (``.../stocks`` -> ``.../crypto``), and its events are decoded.
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
        market: str = "stocks",
    ) -> None:
        cfg = config or PolygonFeedConfig()
        key = api_key if api_key is not None else cfg.api_key
        # The spec's PolygonClient(): key and endpoint from the environment or ./.env.
        key = key if key is not None else from_environment(POLYGON_KEY_VARS)
        if url is None and cfg.base_url_ws is None:
            url = from_environment(POLYGON_URL_VARS)
        if key is None:
            raise AuthError("no Polygon API key: pass api_key= or set POLYGON_API_KEY")
        self._key = key if isinstance(key, SecretStr) else SecretStr(key)
        self.config = cfg
        self.url = market_url(url or cfg.url, market) if market != "stocks" else url or cfg.url
        self.session = FeedSession(self._key, market=market)
        self._seed = seed
        self._routes: dict[tuple[str, str], list[Handler]] = {}
        self._route_cache: dict[tuple[str, str], tuple[Handler, ...]] = {}
        self._sinks: list[FrameSink] = []
        self.raw_sink: Callable[[memoryview, int], None] | None = None
        self._async_queue: asyncio.Queue[Awaitable[None]] | None = None
        self._async_task: asyncio.Task[None] | None = None
        self._ws = ReconnectingWebSocket(
            self.url,
            self,
            name="polygon",
            options=WebSocketOptions(
                connect_timeout_s=cfg.connect_timeout_s,
                ping_interval_s=cfg.ping_interval_s,
                max_frame_size=cfg.max_frame_size,
                reconnect_initial_s=cfg.reconnect_initial_s,
                reconnect_factor=cfg.reconnect_factor,
                reconnect_max_s=cfg.reconnect_max_s,
                healthy_after_s=cfg.healthy_after_s,
                max_reconnect_attempts=cfg.max_reconnect_attempts,
            ),
            seed=seed,
        )
        self._stale_task: asyncio.Task[None] | None = None
        self._ran = False  # run() was awaited: the caller keeps the loop alive
        self._subscribed = False  # a subscribe() returned: quotes were expected from here
        self._interrupted = False  # Ctrl-C during run(): a clean end, not an error
        self._closer: asyncio.Task[None] | None = None
        self._authenticated: asyncio.Event | None = None
        self._ack_waiters: dict[str, asyncio.Future[None]] = {}
        # One timer per connection for the current handshake step (connected, then auth).
        self._handshake_timer: asyncio.TimerHandle | None = None
        self._awaiting_greeting = False
        # From the engine's tuning config; applied to every new connection.
        self.socket_options = socket_options
        self.socket_outcomes: list[Outcome] | None = None
        self._last_frame = 0.0
        self.on_stale: Callable[[StaleFeedError], None] | None = None
        self.on_notice: Callable[[ServerNotice], None] | None = None
        # Plain-int counters for metrics.
        self.stale_events = 0
        self.handler_errors = 0
        self.connected_at: float | None = None

    def __repr__(self) -> str:
        return f"PolygonClient(url={self.url!r}, state={self.session.state.value})"

    # -- public API ----------------------------------------------------------------------

    @property
    def reconnects(self) -> int:
        return self._ws.reconnects

    @property
    def last_failure(self) -> str | None:
        """Why the last connection attempt ended (a handshake timeout, a refused connect…)."""
        return self._ws.last_failure

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
        supervisor = self._ws.task
        if supervisor is None:
            self._authenticated = asyncio.Event()
            supervisor = self._ws.start()
            self._stale_task = asyncio.get_running_loop().create_task(self._watch_stale())
            supervisor.add_done_callback(self._on_supervisor_done)
        assert self._authenticated is not None
        limit = self.config.ready_timeout_s if timeout_s is None else timeout_s
        waiter = asyncio.ensure_future(self._authenticated.wait())
        try:
            done, _ = await asyncio.wait(
                {waiter, supervisor}, timeout=limit, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
        if waiter in done:
            return
        if supervisor.done():
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
                prefix, _, ticker = ch.partition(".")  # an option's events say SPY…, not O:SPY…
                self._routes.setdefault((prefix, ticker.removeprefix("O:")), []).append(handler)
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
        self._subscribed = True

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        """Stop receiving ``channels``; their handlers are removed."""
        chans = normalize_channels(channels)
        for ch in chans:
            prefix, _, ticker = ch.partition(".")
            self._routes.pop((prefix, ticker.removeprefix("O:")), None)
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
        """Wait until the client stops: returns after :meth:`close`, raises a terminal error.

        Under ``asyncio.run`` with its default Ctrl-C handling, Ctrl-C closes the client and
        ``run()`` returns: "printed until Ctrl-C" is the normal end of a feed program, not a
        ``KeyboardInterrupt`` and ``CancelledError`` traceback pair. A program that handles
        SIGINT itself (``loop.add_signal_handler``, as ``tradewire run`` does) keeps it.
        """
        self._ran = True
        if self._ws.task is None:
            await self.connect()
        supervisor = self._ws.task
        assert supervisor is not None
        with ctrl_c_calls(self._on_ctrl_c):
            await asyncio.shield(supervisor)
        if self._interrupted:
            await self.close()
            return
        self._raise_terminal()

    wait_closed = run

    def _on_ctrl_c(self) -> None:
        log.info("polygon: interrupted; closing the feed")
        self._interrupted = True
        self._closer = asyncio.get_running_loop().create_task(self._ws.close())

    async def close(self) -> None:
        """Close with 1000 and stop reconnecting; pending async handlers are drained."""
        await self._ws.close()
        self._stop_stale_watch()
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

    def on_frame(self, transport: WSTransport, payload: memoryview, recv_ns: int) -> None:
        """Every data frame, on picows' call stack (the hot path)."""
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
        raw = self.raw_sink
        if raw is not None:  # a gateway forwards the frame as received, after its own use
            raw(payload, recv_ns)

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
        supervisor = self._ws.task
        if supervisor is not None and not self._ws.closing and _ending(supervisor):
            # asyncio.run is ending the loop under a live subscription (it cancelled every
            # task, ours included) and still reads the socket: a handler started now could
            # not finish, and its task would be destroyed pending at the loop's close.
            _discard(awaitable)
            return
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

    def on_open(self, transport: WSTransport) -> None:
        """A new connection: the server speaks first; its greeting has a deadline."""
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
                self._ws.mark_healthy()
                if self._authenticated is not None:
                    self._authenticated.set()
            elif isinstance(ev, SubscriptionAck):
                fut = self._ack_waiters.pop(ev.channel, None)
                if fut is not None and not fut.done():
                    fut.set_result(None)
            elif isinstance(ev, SessionError):
                if ev.fatal:
                    self._cancel_handshake_timer()
                    self._ws.fail(ev.error)
                elif isinstance(ev.error, MaxConnectionsError):
                    log.warning("polygon: %s", ev.error)
                    if not self.config.retry_on_max_connections:
                        self._ws.fail(ev.error)
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
        self._ws.drop(str(FeedClosedError(f"handshake with {self.url} timed out: {why}")))

    def _flush(self) -> None:
        transport = self._ws.transport
        if transport is not None:
            self._flush_to(transport)

    def _flush_to(self, transport: WSTransport) -> None:
        for message in self.session.data_to_send():
            transport.send(WSMsgType.TEXT, message)

    def _raise_terminal(self) -> None:
        terminal = self._ws.terminal
        if terminal is None:
            return
        if isinstance(terminal, TradewireError):
            raise terminal
        raise FeedClosedError(f"polygon feed: {terminal}")

    @property
    def _closing(self) -> bool:
        return self._ws.closing

    # -- connection ends and staleness --------------------------------------------------

    def on_lost(self, close_code: int | None, close_reason: str) -> None:
        """A connection ended: the next one authenticates afresh."""
        self._cancel_handshake_timer()
        if self._authenticated is not None:
            self._authenticated.clear()
        if (
            close_code in (1000, 1001)
            and not self.config.reconnect_on_clean_close
            and not self._ws.closing
        ):
            self._ws.fail(FeedClosedError("server closed the feed cleanly", code=close_code))

    def _on_supervisor_done(self, task: asyncio.Task[None]) -> None:
        self._stop_stale_watch()
        if task.cancelled() and not self._ws.closing and self._async_queue is not None:
            # The loop is ending (not close(), which drains the queue): what waits will
            # never run; closed here, it is not reported as "never awaited" at exit.
            while not self._async_queue.empty():
                _discard(self._async_queue.get_nowait())
                self._async_queue.task_done()
        if task.cancelled() and self._routes and self._subscribed and not self._ran:
            # The loop is ending under a live subscription nobody waited on: the spec's
            # snippet returns right after subscribe_quotes and would print nothing.
            log.warning(
                "polygon: the program ended while subscribed; quotes reach your handler only "
                "while the event loop runs: add `await client.run()` after subscribing"
            )

    def _stop_stale_watch(self) -> None:
        if self._stale_task is not None:
            self._stale_task.cancel()
            self._stale_task = None
        if self._authenticated is not None:
            self._authenticated.clear()

    async def _watch_stale(self) -> None:
        threshold = self.config.stale_after_s
        if threshold <= 0:
            return
        while True:
            await asyncio.sleep(threshold / 4)
            transport = self._ws.transport
            if (
                self.is_authenticated
                and self.session.desired
                and transport is not None
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
                transport.disconnect()
