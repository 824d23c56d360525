"""Alpaca trade_updates stream: a sans-I/O session, and a client on the shared reconnecting
WebSocket (:mod:`tradewire.net.websocket`, the same one the feed uses).

Protocol (reference/alpaca.md section 8): the server says nothing on open; we send
``authenticate``, wait for ``authorization``, send ``listen``; events then arrive as
``{"stream":"trade_updates","data":{...}}`` in binary (paper) or text frames.

The stream has no resume offset, so events during a reconnect gap are lost upstream. After
every reconnect the client calls ``on_gap``: the owner reconciles with REST (the engine's
reconciler pages through open orders and looks up the rest; a query by ``after=`` alone
filters on submission time and misses older orders that filled in the gap). Duplicates
(observed upstream) are dropped by execution_id.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

import msgspec
from picows import WSMsgType, WSTransport
from pydantic import SecretStr

from tradewire.errors import FatalBrokerError, RetryableBrokerError
from tradewire.net.websocket import ReconnectingWebSocket, WebSocketOptions
from tradewire.venues.alpaca.messages import STREAM_DECODER, TRADE_UPDATE_DECODER, TradeUpdate


class StreamNotListening(RetryableBrokerError, TimeoutError):
    """The trade_updates stream could not be joined in time."""


log = logging.getLogger(__name__)

UpdateHandler = Callable[[TradeUpdate], None] | Callable[[TradeUpdate], Awaitable[None]]
GapHandler = Callable[[float], None]
_ENCODER = msgspec.json.Encoder()


class TradeStreamSession:
    """Sans-I/O state of one trade_updates subscription across reconnects."""

    def __init__(
        self, key_id: SecretStr, secret_key: SecretStr, *, dedupe_window: int = 10_000
    ) -> None:
        self._key_id = key_id
        self._secret = secret_key
        self.authorized = False
        self.listening = False
        self._outbox: list[bytes] = []
        self._seen: set[str] = set()
        self._seen_order: deque[str] = deque()
        self._window = dedupe_window
        self.duplicates = 0
        self.malformed = 0
        self.last_event_time: str | None = None

    def __repr__(self) -> str:
        return f"TradeStreamSession(authorized={self.authorized}, listening={self.listening})"

    def connected(self) -> None:
        """A new connection is open: authenticate first (the server speaks only when asked)."""
        self.authorized = self.listening = False
        self._outbox = [
            _ENCODER.encode(
                {
                    "action": "authenticate",
                    "data": {
                        "key_id": self._key_id.get_secret_value(),
                        "secret_key": self._secret.get_secret_value(),
                    },
                }
            )
        ]

    def data_to_send(self) -> list[bytes]:
        out, self._outbox = self._outbox, []
        return out

    def receive(self, payload: bytes | memoryview | str) -> TradeUpdate | None:
        """Handle one frame; returns a new (not duplicate) trade update, if it was one.

        Raises:
            FatalBrokerError: the venue refused the keys.
        """
        try:
            msg = STREAM_DECODER.decode(payload)
        except msgspec.DecodeError as exc:
            self.malformed += 1
            log.warning("alpaca stream: dropped a malformed frame: %s", exc)
            return None
        if msg.stream == "trade_updates":
            try:
                update = TRADE_UPDATE_DECODER.decode(msg.data)
            except msgspec.DecodeError as exc:
                self.malformed += 1
                log.warning("alpaca stream: dropped a malformed trade update: %s", exc)
                return None
            if update.timestamp:
                self.last_event_time = update.timestamp
            exec_id = update.execution_id
            if exec_id is not None:
                if exec_id in self._seen:
                    self.duplicates += 1
                    return None
                self._remember(exec_id)
            return update
        if msg.stream == "authorization":
            data = msgspec.json.decode(msg.data)
            status = data.get("status") if isinstance(data, dict) else None
            if status == "authorized":
                self.authorized = True
                self._outbox.append(
                    _ENCODER.encode({"action": "listen", "data": {"streams": ["trade_updates"]}})
                )
                return None
            text = data.get("message", "") if isinstance(data, dict) else ""
            raise FatalBrokerError(f"alpaca stream: not authorized {text}".strip(), status=401)
        if msg.stream == "listening":
            data = msgspec.json.decode(msg.data)
            streams = data.get("streams", []) if isinstance(data, dict) else []
            self.listening = "trade_updates" in streams
            return None
        log.info("alpaca stream: ignoring message on stream %r", msg.stream)
        return None

    def _remember(self, exec_id: str) -> None:
        self._seen.add(exec_id)
        self._seen_order.append(exec_id)
        if len(self._seen_order) > self._window:
            self._seen.discard(self._seen_order.popleft())


class TradeStream:
    """Reconnecting trade_updates client on the shared reconnecting WebSocket.

    Args:
        url: ``wss://paper-api.alpaca.markets/stream`` or the simulator's ``ws://…/stream``.
        on_update: Called for every new trade update (sync: inline; async: in order).
        on_gap: Called once listening again after a reconnect, with the wall-clock time
            (epoch seconds) the connection was lost: events since then are lost upstream.
        handshake_timeout_s: From the open connection to ``listening`` (authenticate, then
            listen); past it the attempt is dropped and retried.
        options: Connect, keep-alive and backoff settings (``reconnect_max_s`` is the
            shorthand for the common one).
    """

    def __init__(
        self,
        url: str,
        key_id: str | SecretStr,
        secret_key: str | SecretStr,
        *,
        on_update: UpdateHandler,
        on_gap: GapHandler | None = None,
        reconnect_max_s: float = 30.0,
        handshake_timeout_s: float = 10.0,
        options: WebSocketOptions | None = None,
        seed: int | None = None,
    ) -> None:
        self.url = url
        self.session = TradeStreamSession(
            key_id if isinstance(key_id, SecretStr) else SecretStr(key_id),
            secret_key if isinstance(secret_key, SecretStr) else SecretStr(secret_key),
        )
        self.on_update = on_update
        self.on_gap = on_gap
        self.handshake_timeout_s = handshake_timeout_s
        self._ws = ReconnectingWebSocket(
            url,
            self,
            name="alpaca stream",
            options=options
            or WebSocketOptions(
                connect_timeout_s=10.0, ping_interval_s=10.0, reconnect_max_s=reconnect_max_s
            ),
            seed=seed,
        )
        self._lost_at = 0.0
        self._listening = asyncio.Event()
        self._handshake_timer: asyncio.TimerHandle | None = None
        self._async_queue: asyncio.Queue[Awaitable[None]] | None = None
        self._async_task: asyncio.Task[None] | None = None
        self._connected_once = False
        self.handler_errors = 0

    def __repr__(self) -> str:
        return f"TradeStream(url={self.url!r}, listening={self.session.listening})"

    @property
    def reconnects(self) -> int:
        return self._ws.reconnects

    async def start(self, *, timeout_s: float = 10.0) -> None:
        """Connect, authenticate and listen; returns once events can flow.

        Raises:
            FatalBrokerError: the keys were refused.
            StreamNotListening: not listening within ``timeout_s`` (it keeps trying:
                ``close()``); a RetryableBrokerError and a TimeoutError.
        """
        task = self._ws.start()
        waiter = asyncio.ensure_future(self._listening.wait())
        try:
            done, _ = await asyncio.wait(
                {waiter, task}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
        if waiter in done:
            return
        if self._ws.terminal is not None:
            raise self._ws.terminal
        # Without fills the engine's truth would drift: not trading is the safe answer,
        # said in one line (a bare TimeoutError here became a traceback).
        raise StreamNotListening(
            f"trade_updates stream {self.url} not listening after {timeout_s:g}s"
            f" (last attempt: {self._ws.last_failure or 'still connecting'})"
        )

    async def close(self) -> None:
        await self._ws.close()
        self._cancel_handshake_timer()
        if self._async_task is not None:
            self._async_task.cancel()
            await asyncio.gather(self._async_task, return_exceptions=True)

    async def wait_closed(self) -> None:
        task = self._ws.task
        if task is not None:
            await asyncio.shield(task)
        if self._ws.terminal is not None:
            raise self._ws.terminal

    # -- the shared WebSocket's callbacks ------------------------------------------------

    def on_open(self, transport: WSTransport) -> None:
        """The server speaks only when asked: authenticate, with a deadline for listening."""
        self.session.connected()
        for msg in self.session.data_to_send():
            transport.send(WSMsgType.TEXT, msg)
        self._cancel_handshake_timer()
        self._handshake_timer = asyncio.get_running_loop().call_later(
            self.handshake_timeout_s,
            self._ws.drop,
            f"not listening within {self.handshake_timeout_s:g}s of connecting",
        )

    def on_frame(self, transport: WSTransport, payload: memoryview, recv_ns: int) -> None:
        session = self.session
        try:
            update = session.receive(payload)
        except FatalBrokerError as exc:
            self._cancel_handshake_timer()
            self._ws.fail(exc)
            return
        for msg in session.data_to_send():
            transport.send(WSMsgType.TEXT, msg)
        if session.listening and not self._listening.is_set():
            self._cancel_handshake_timer()
            self._ws.mark_healthy()
            self._listening.set()
            if self._connected_once and self.on_gap is not None:
                try:
                    self.on_gap(self._lost_at)
                except Exception:
                    self.handler_errors += 1
                    log.exception("alpaca stream: gap handler raised")
            self._connected_once = True
        if update is not None:
            self._dispatch(update)

    def on_lost(self, close_code: int | None, close_reason: str) -> None:
        self._cancel_handshake_timer()
        if self._listening.is_set() or not self._lost_at:
            self._lost_at = time.time()  # the first failure of this gap
        self._listening.clear()

    def _cancel_handshake_timer(self) -> None:
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
            self._handshake_timer = None

    def _dispatch(self, update: TradeUpdate) -> None:
        try:
            result = self.on_update(update)
        except Exception:
            self.handler_errors += 1
            log.exception("alpaca stream: handler raised on %s", update.event)
            return
        if result is not None and inspect.isawaitable(result):
            if self._async_queue is None:
                self._async_queue = asyncio.Queue()
                self._async_task = asyncio.get_running_loop().create_task(self._drain())
            self._async_queue.put_nowait(result)

    async def _drain(self) -> None:
        assert self._async_queue is not None
        while True:
            awaitable = await self._async_queue.get()
            try:
                await awaitable
            except Exception:
                self.handler_errors += 1
                log.exception("alpaca stream: async handler raised")
