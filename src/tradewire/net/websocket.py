"""One reconnecting WebSocket on picows, for the market-data feed and the trade stream.

The feed and the trade_updates stream had each their own copy of this, and the copies had
drifted: the stream's had lost the handshake bound on the TCP connect, the wake-up of a
backoff by ``close()``, the abandonment of an attempt still inside the upgrade, and the
handling of a peer that hangs up mid-upgrade. Here is the one supervisor both use.

What the owner supplies is a :class:`Handler`: ``on_open`` when a connection is up (send
the greeting, arm the owner's own protocol timers), ``on_frame`` for every data frame, on the
same call stack as picows' callback (the hot path has no hop), and ``on_lost`` when it ends
(which may make the end final). The owner ends an attempt with :meth:`drop` (a protocol
timeout: reconnect) or stops for good with :meth:`fail` (refused keys); it calls
:meth:`mark_healthy` once its protocol is ready, which resets the backoff after a connection
that lasted ``healthy_after_s``. An exception raised in ``on_frame`` drops the connection
(picows' ``disconnect_on_exception``) and is logged once with its traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Protocol

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from tradewire.net.backoff import backoff

log = logging.getLogger(__name__)

LOG_EVERY = 10
"""A failure that repeats the last one is logged at WARNING only every this many attempts."""


@dataclass(frozen=True, slots=True)
class WebSocketOptions:
    """How one reconnecting WebSocket connects, keeps alive and backs off."""

    connect_timeout_s: float = 10.0  # TCP connect, TLS and the upgrade of one attempt
    ping_interval_s: float = 20.0
    max_frame_size: int = 16 * 1024 * 1024
    reconnect_initial_s: float = 0.1
    reconnect_factor: float = 2.0
    reconnect_max_s: float = 30.0
    healthy_after_s: float = 30.0  # a connection this old resets the backoff
    max_reconnect_attempts: int = 0  # consecutive failures before giving up; 0 = never


class Handler(Protocol):
    def on_open(self, transport: WSTransport) -> None: ...

    def on_frame(self, transport: WSTransport, payload: memoryview, recv_ns: int) -> None: ...

    def on_lost(self, close_code: int | None, close_reason: str) -> None: ...


class _Listener(WSListener):
    # picows calls these on the event loop; everything stays synchronous.
    def __init__(self, ws: ReconnectingWebSocket) -> None:
        self.ws = ws
        self.transport: WSTransport | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self.abandoned = False
        self._on_frame = ws.handler.on_frame  # bound once: the frame path is the hot path

    def abandon(self) -> None:
        """The supervisor gave up on this attempt: never report it, end it if it connects."""
        self.abandoned = True
        if self.transport is not None:
            self.transport.disconnect()

    def on_ws_connected(self, transport: WSTransport) -> None:
        if self.abandoned:
            transport.send_close(WSCloseCode.GOING_AWAY)
            transport.disconnect()
            return
        self.transport = transport
        self.ws.transport = transport
        self.ws.handler.on_open(transport)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        recv_ns = time.perf_counter_ns()
        msg_type = frame.msg_type
        if msg_type is WSMsgType.TEXT or msg_type is WSMsgType.BINARY:
            self._on_frame(transport, frame.get_payload_as_memoryview(), recv_ns)
        elif msg_type is WSMsgType.CLOSE:
            code = frame.get_close_code()
            self.close_code = code.value if isinstance(code, WSCloseCode) else int(code)
            self.close_reason = (frame.get_close_message() or b"").decode(errors="replace")
            transport.send_close(code if isinstance(code, WSCloseCode) else WSCloseCode.OK)
            transport.disconnect()


class ReconnectingWebSocket:
    """A WebSocket that reconnects with jittered backoff until closed or failed for good.

    Args:
        url: ``ws://`` or ``wss://`` URL.
        handler: The owner's callbacks (see :class:`Handler`).
        name: Used in log lines and the supervisor task's name.
        options: Timeouts, keep-alive and backoff.
        seed: Seed of the backoff jitter, for reproducible tests.
    """

    def __init__(
        self,
        url: str,
        handler: Handler,
        *,
        name: str,
        options: WebSocketOptions | None = None,
        seed: int | None = None,
    ) -> None:
        self.url = url
        self.handler = handler
        self.name = name
        self.options = options or WebSocketOptions()
        self._rng = random.Random(seed)
        self.transport: WSTransport | None = None  # the open connection, if any
        self.reconnects = 0
        self.last_failure: str | None = None
        self.terminal: BaseException | None = None
        self.healthy_at: float | None = None
        self.closing = False
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()  # close() ends a backoff sleep or a pending connect
        self._attempt_error: str | None = None

    def __repr__(self) -> str:
        return f"ReconnectingWebSocket({self.name!r}, url={self.url!r})"

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def start(self) -> asyncio.Task[None]:
        """Start the supervisor (once); it runs until :meth:`close` or a final failure."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._supervise(), name=self.name)
        return self._task

    async def close(self) -> None:
        """Close with 1000 and stop reconnecting; returns when the supervisor has ended."""
        self.closing = True
        self._wake.set()
        transport = self.transport
        if transport is not None:
            transport.send_close(WSCloseCode.OK)
            transport.disconnect()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    def drop(self, reason: str, *, code: WSCloseCode = WSCloseCode.POLICY_VIOLATION) -> None:
        """End the current connection as a failed attempt; the supervisor reconnects."""
        self._attempt_error = reason
        transport = self.transport
        if transport is not None:
            transport.send_close(code)
            transport.disconnect()

    def fail(self, error: BaseException) -> None:
        """Stop for good (e.g. the keys were refused); the owner raises ``terminal``."""
        self.terminal = error
        self.closing = True
        self._wake.set()
        transport = self.transport
        if transport is not None:
            transport.send_close(WSCloseCode.OK)
            transport.disconnect()

    def mark_healthy(self) -> None:
        """The owner's protocol is ready on this connection (authenticated, listening)."""
        self.healthy_at = time.monotonic()

    # -- supervisor ----------------------------------------------------------------------

    def _fresh_backoff(self) -> Any:
        o = self.options
        return backoff(
            initial_s=o.reconnect_initial_s,
            factor=o.reconnect_factor,
            max_s=max(o.reconnect_max_s, o.reconnect_initial_s),
            rng=self._rng,
        )

    async def _supervise(self) -> None:
        opts = self.options
        delays = self._fresh_backoff()
        failures = 0
        previous: str | None = None
        while not self.closing:
            reason = await self._connection_life()
            self.last_failure = reason
            if self.closing:
                break
            healthy = (
                self.healthy_at is not None
                and time.monotonic() - self.healthy_at >= opts.healthy_after_s
            )
            if healthy:
                delays, failures = self._fresh_backoff(), 0
            failures += 1
            if opts.max_reconnect_attempts and failures > opts.max_reconnect_attempts:
                self.terminal = ConnectionError(
                    f"{self.name} gave up after {failures - 1} reconnect attempts: {reason}"
                )
                break
            delay = next(delays)
            self.reconnects += 1
            # The first failure is said at once and any new kind of failure too; the same
            # one again (a feed that is not there yet) only every LOG_EVERY-th attempt, so
            # the line that matters is not buried under one per backoff step.
            repeated = failures > 1 and reason == previous
            if not repeated or failures % LOG_EVERY == 0:
                log.warning(
                    "%s: %s; reconnecting in %.2fs (attempt %d%s)",
                    self.name,
                    reason,
                    delay,
                    failures,
                    "" if repeated else f"; the same failure is logged every {LOG_EVERY}th",
                )
            else:
                log.debug(
                    "%s: %s; reconnecting in %.2fs (attempt %d)", self.name, reason, delay, failures
                )
            previous = reason
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def _connection_life(self) -> str:
        # One connection's life; returns why it ended.
        self.healthy_at = None
        self._attempt_error = None
        opened = await self._open()
        if isinstance(opened, str):
            return opened
        try:
            return await self._run(opened)
        finally:
            self.transport = None

    async def _open(self) -> _Listener | str:
        # ws_connect, bounded by connect_timeout_s (picows bounds only the upgrade, not the
        # TCP connect) and abandoned at once when close() sets _wake.
        created: list[_Listener] = []

        def factory() -> _Listener:
            listener = _Listener(self)
            created.append(listener)
            return listener

        opts = self.options
        loop = asyncio.get_running_loop()
        connecting = loop.create_task(
            ws_connect(
                factory,
                self.url,
                websocket_handshake_timeout=opts.connect_timeout_s,
                enable_auto_ping=True,
                auto_ping_idle_timeout=opts.ping_interval_s,
                auto_ping_reply_timeout=opts.ping_interval_s,
                max_frame_size=opts.max_frame_size,
                disconnect_on_exception=True,
            )
        )
        woken = loop.create_task(self._wake.wait())
        try:
            done, _ = await asyncio.wait(
                {connecting, woken},
                timeout=opts.connect_timeout_s,
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
            if self.closing:
                return "closed while connecting"
            return f"connect to {self.url} failed: no WebSocket within {opts.connect_timeout_s:g}s"
        try:
            _, opened = connecting.result()
        except ConnectionRefusedError:
            return f"connect to {self.url} refused: nothing listens there (is the server up?)"
        except (OSError, TimeoutError) as exc:
            return f"connect to {self.url} failed: {type(exc).__name__}: {exc}"
        except Exception as exc:  # picows handshake errors (HTTP 404/403/429/5xx …)
            return f"handshake with {self.url} failed: {type(exc).__name__}: {exc}"
        if not isinstance(opened, _Listener) or opened.transport is None:
            # picows returns without a listener when the peer hangs up mid-upgrade.
            return f"handshake with {self.url} failed: connection closed during the upgrade"
        return opened

    async def _run(self, listener: _Listener) -> str:
        assert listener.transport is not None
        if self.closing:
            # close() ran while the handshake was in flight: it could not see this
            # connection, so nothing else would ever end it.
            listener.transport.send_close(WSCloseCode.OK)
            listener.transport.disconnect()
            return "closed while connecting"
        try:
            await listener.transport.wait_disconnected()
        except Exception as exc:  # picows re-raises what our frame callback raised
            log.exception("%s: frame processing failed; dropping the connection", self.name)
            self.handler.on_lost(listener.close_code, listener.close_reason)
            return f"frame processing failed: {type(exc).__name__}: {exc}"
        self.handler.on_lost(listener.close_code, listener.close_reason)
        if self._attempt_error is not None:
            return self._attempt_error
        code = listener.close_code
        if code is None:
            return "connection dropped without a close frame"
        return f"server closed the connection (code {code} {listener.close_reason!r})"


def _consume(task: asyncio.Task[Any]) -> None:
    # An abandoned ws_connect: retrieve its outcome so asyncio does not log it as lost.
    if not task.cancelled():
        task.exception()
