"""Polygon-compatible WebSocket feed server on loopback.

Speaks the real protocol (reference/polygon.md sections 2 and 5): the server talks first,
auth by message, one ack per channel, events batched in JSON arrays, a per-key connection
limit with eviction, auth timeout, slow-consumer disconnects. The official ``massive`` and
``polygon-api-client`` SDKs connect to it with only the host changed (tests/conformance).

picows is used for its synchronous ``send``: the simulator stamps the moment each frame is
handed to the kernel, which is the start of tick-to-trade.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Literal

from picows import (
    WSCloseCode,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    ws_create_server,
)

from tradewire.sim.feed import wire
from tradewire.sim.market import NBBO, LastTrade, MarketState, pair_key, publish_option

log = logging.getLogger(__name__)

MARKETS = wire.MARKETS
ROUND_LOT = 100  # quote sizes are documented in round lots; MarketState holds shares


class _Conn(WSListener):
    # One client connection; all state on the instance.
    def __init__(self, server: PolygonFeedServer, conn_id: int, market: str = "stocks") -> None:
        self.server = server
        self.id = conn_id
        self.market = market  # the cluster of the path: its channels, its connection limit
        self.transport: WSTransport | None = None
        self.key: str | None = None
        self.authed = False
        self.subs: set[str] = set()
        self.closing = False
        self._auth_timer: asyncio.TimerHandle | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        transport.send(WSMsgType.TEXT, wire.CONNECTED)
        loop = asyncio.get_running_loop()
        self._auth_timer = loop.call_later(self.server.auth_timeout, self._auth_timed_out)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self._auth_timer is not None:
            self._auth_timer.cancel()
        self.server._forget(self)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        mt = frame.msg_type
        if mt is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if mt is not WSMsgType.TEXT and mt is not WSMsgType.BINARY:
            return
        try:
            action = wire.parse_action(frame.get_payload_as_bytes())
        except wire.BadAction as exc:
            transport.send(WSMsgType.TEXT, wire.status("error", f"invalid message: {exc}"))
            return
        self.server._record(self.id, action)
        if action.action == "auth":
            self._on_auth(action.params)
        elif action.action in ("subscribe", "unsubscribe"):
            if not self.authed:
                transport.send(WSMsgType.TEXT, wire.AUTH_REQUIRED)
                return
            self.server._on_subscription(self, action.action == "subscribe", action.params)
        else:
            transport.send(WSMsgType.TEXT, wire.status("error", f"unknown action: {action.action}"))

    def _on_auth(self, key: str) -> None:
        assert self.transport is not None
        if self.authed:
            self.transport.send(WSMsgType.TEXT, wire.status("error", "already authenticated"))
            return
        if self._auth_timer is not None:
            self._auth_timer.cancel()
        if key not in self.server.api_keys:
            self.transport.send(WSMsgType.TEXT, wire.AUTH_FAILED)
            self.close(WSCloseCode.POLICY_VIOLATION)
            return
        self.key = key
        self.authed = True
        self.transport.send(WSMsgType.TEXT, wire.AUTH_SUCCESS)
        self.server._on_authed(self)

    def _auth_timed_out(self) -> None:
        if not self.authed and self.transport is not None and not self.closing:
            self.transport.send(WSMsgType.TEXT, wire.AUTH_TIMEOUT)
            self.close(WSCloseCode.POLICY_VIOLATION)

    def send(self, payload: bytes) -> None:
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, payload)

    def close(self, code: WSCloseCode, status_frame: bytes | None = None) -> None:
        if self.closing or self.transport is None:
            return
        self.closing = True
        if status_frame is not None:
            self.transport.send(WSMsgType.TEXT, status_frame)
        self.transport.send_close(code)
        self.transport.disconnect()

    def write_buffer_size(self) -> int:
        assert self.transport is not None
        size: int = self.transport.underlying_transport.get_write_buffer_size()
        return size


class PolygonFeedServer:
    """A Polygon stocks feed on ``ws://host:port/<market>``. See tests/conformance for proof."""

    def __init__(
        self,
        market: MarketState | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_keys: Collection[str] = ("test-key",),
        max_connections_per_key: int = 1,
        eviction: Literal["oldest", "newest"] = "oldest",
        auth_timeout: float = 10.0,
        max_frame_bytes: int = 256 * 1024,
        slow_consumer_bytes: int = 64 * 1024 * 1024,
        stamp_sink: Callable[[int, int], None] | None = None,
    ) -> None:
        self.market = market if market is not None else MarketState()
        self.host = host
        self.port = port
        self.api_keys = frozenset(api_keys)
        self.max_connections_per_key = max_connections_per_key
        self.eviction = eviction
        self.auth_timeout = auth_timeout
        self.max_frame_bytes = max_frame_bytes
        self.slow_consumer_bytes = slow_consumer_bytes
        self.stamp_sink = stamp_sink
        self.actions: list[dict[str, Any]] = []
        self.frames_sent = 0
        self.events_sent = 0
        self._server: asyncio.Server | None = None
        self._ids = itertools.count(1)
        self._conns: dict[int, _Conn] = {}
        # Massive allows one connection per key per cluster (/stocks, /crypto, ...).
        self._by_key: dict[tuple[str, str], list[_Conn]] = {}
        self._subs: dict[str, set[_Conn]] = {}
        self._sub_waiters: list[tuple[str, int, asyncio.Future[None]]] = []

    def __repr__(self) -> str:
        return f"PolygonFeedServer(host={self.host!r}, port={self.port}, conns={len(self._conns)})"

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        def route(request: WSUpgradeRequest) -> _Conn | None:
            market = wire.market_of_path(request.path.decode("latin-1"))
            if market is None:
                return None  # picows answers 404
            return _Conn(self, next(self._ids), market)

        self._server = await ws_create_server(
            route,
            self.host,
            self.port,
            websocket_handshake_timeout=self.auth_timeout,
            enable_auto_pong=True,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for conn in list(self._conns.values()):
            conn.close(WSCloseCode.GOING_AWAY)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> PolygonFeedServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def url(self, market: str = "stocks") -> str:
        return f"ws://{self.host}:{self.port}/{market}"

    @property
    def connection_count(self) -> int:
        return sum(1 for c in self._conns.values() if c.authed and not c.closing)

    # -- publishing ----------------------------------------------------------------------

    def publish(self, events: Sequence[Mapping[str, Any]]) -> int:
        """Send wire-format events to every subscribed connection; returns frames written."""
        items: list[tuple[str, str, bytes]] = []
        market = self.market
        for event in events:
            ev, sym = wire.event_channel(dict(event))
            if sym.startswith(wire.OPTION_PREFIX) and ev in ("Q", "T"):
                publish_option(market, ev, sym[2:], event)
            elif ev == "Q":
                market.publish_quote(
                    NBBO(
                        sym,
                        float(event.get("bp", 0.0)),
                        int(event.get("bs", 0)) * ROUND_LOT,
                        float(event.get("ap", 0.0)),
                        int(event.get("as", 0)) * ROUND_LOT,
                        int(event.get("t", 0)),
                    )
                )
            elif ev == "T":
                market.publish_trade(
                    LastTrade(
                        sym, float(event["p"]), float(event.get("s", 0)), int(event.get("t", 0))
                    )
                )
            elif ev == "XQ":
                # Crypto sizes are in coins (no round lots); the broker knows the pair as
                # Alpaca orders name it, BTC/USD, where Massive says BTC-USD.
                market.publish_quote(
                    NBBO(
                        pair_key(sym),
                        float(event.get("bp", 0.0)),
                        float(event.get("bs", 0.0)),
                        float(event.get("ap", 0.0)),
                        float(event.get("as", 0.0)),
                        int(event.get("t", 0)),
                    )
                )
            elif ev == "XT":
                market.publish_trade(
                    LastTrade(
                        pair_key(sym),
                        float(event["p"]),
                        float(event.get("s", 0)),
                        int(event.get("t", 0)),
                    )
                )
            items.append((ev, sym, wire.encode_event(dict(event))))
        return self.publish_encoded(items)

    def publish_encoded(self, items: Sequence[tuple[str, str, bytes]]) -> int:
        """Fast path for sources: (ev, symbol, encoded event) triples, already in MarketState."""
        subs = self._subs
        if not subs:
            return 0
        per_conn: dict[_Conn, list[bytes]] = {}
        for ev, sym, data in items:
            exact = subs.get(f"{ev}.{sym}")
            # An option's wildcard is the options cluster's own (wire.sub_key): Q.* on /stocks
            # never hears options, nor Q.* on /options stocks.
            wild = subs.get(f"{ev}.O:*" if sym.startswith(wire.OPTION_PREFIX) else f"{ev}.*")
            if exact:
                for conn in exact:
                    per_conn.setdefault(conn, []).append(data)
            if wild:
                for conn in wild:
                    if exact and conn in exact:
                        continue  # overlapping subscriptions deliver once
                    per_conn.setdefault(conn, []).append(data)
        frames = 0
        sink = self.stamp_sink
        for conn, datas in per_conn.items():
            if conn.closing:
                continue
            if conn.write_buffer_size() > self.slow_consumer_bytes:
                log.warning("sim feed: connection %d is a slow consumer; disconnecting", conn.id)
                conn.close(WSCloseCode.POLICY_VIOLATION, wire.SLOW_CONSUMER)
                continue
            for frame in wire.batch(datas, self.max_frame_bytes):
                conn.send(frame)
                frames += 1
                self.frames_sent += 1
                if sink is not None:
                    sink(self.frames_sent, time.monotonic_ns())
            self.events_sent += len(datas)
        return frames

    def publish_raw(self, payload: str | bytes) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        for conn in list(self._conns.values()):
            if conn.authed and not conn.closing:
                conn.send(data)

    async def close_all(
        self, code: int = 1011, *, status: str | None = None, message: str = ""
    ) -> None:
        frame = wire.status(status, message) if status is not None else None
        for conn in list(self._conns.values()):
            conn.close(WSCloseCode(code), frame)
        await asyncio.sleep(0)

    def drop_all(self) -> None:
        for conn in list(self._conns.values()):
            if conn.transport is not None:
                conn.closing = True
                conn.transport.underlying_transport.abort()

    def subscriber_count(self, channel: str) -> int:
        return len(self._subs.get(channel, ()))

    def has_subscriber(self, ev: str, ticker: str) -> bool:
        """Whether any client hears ``ev`` of ``ticker`` (by name or by its cluster's ``*``)."""
        subs = self._subs
        wild = f"{ev}.O:*" if ticker.startswith(wire.OPTION_PREFIX) else f"{ev}.*"
        return bool(subs.get(f"{ev}.{ticker}") or subs.get(wild))

    async def wait_for_subscribers(
        self, channel: str, count: int = 1, timeout_s: float = 5.0
    ) -> None:
        if len(self._subs.get(channel, ())) >= count:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sub_waiters.append((channel, count, fut))
        async with asyncio.timeout(timeout_s):
            await fut

    # -- connection bookkeeping (called by _Conn) ----------------------------------------

    def _record(self, conn_id: int, action: wire.ClientAction) -> None:
        params = "***" if action.action == "auth" else action.params
        self.actions.append({"conn": conn_id, "action": action.action, "params": params})

    def _on_authed(self, conn: _Conn) -> None:
        self._conns[conn.id] = conn
        assert conn.key is not None
        peers = self._by_key.setdefault((conn.key, conn.market), [])
        peers.append(conn)
        live = [c for c in peers if not c.closing]
        if len(live) > self.max_connections_per_key:
            victim = live[0] if self.eviction == "oldest" else conn
            victim.close(WSCloseCode.POLICY_VIOLATION, wire.MAX_CONNECTIONS)

    def _on_subscription(self, conn: _Conn, subscribe: bool, params: str) -> None:
        for channel in wire.split_channels(params):
            if not wire.channel_valid(channel, conn.market):
                conn.send(wire.status("error", f"invalid channel: {channel}"))
                continue
            key = wire.sub_key(channel, conn.market)
            if subscribe:
                conn.subs.add(key)
                self._subs.setdefault(key, set()).add(conn)
                conn.send(wire.status("success", f"subscribed to: {channel}"))
            else:
                conn.subs.discard(key)
                subscribers = self._subs.get(key)
                if subscribers is not None:
                    subscribers.discard(conn)
                    if not subscribers:
                        del self._subs[key]
                conn.send(wire.status("success", f"unsubscribed to: {channel}"))
        self._wake_sub_waiters()

    def _wake_sub_waiters(self) -> None:
        keep = []
        for channel, count, fut in self._sub_waiters:
            if fut.done():
                continue
            if len(self._subs.get(channel, ())) >= count:
                fut.set_result(None)
            else:
                keep.append((channel, count, fut))
        self._sub_waiters = keep

    def _forget(self, conn: _Conn) -> None:
        conn.closing = True
        self._conns.pop(conn.id, None)
        if conn.key is not None:
            peers = self._by_key.get((conn.key, conn.market), [])
            if conn in peers:
                peers.remove(conn)
        for channel in conn.subs:
            self._subs.get(channel, set()).discard(conn)
        for channel in [c for c, s in self._subs.items() if not s]:
            del self._subs[channel]
