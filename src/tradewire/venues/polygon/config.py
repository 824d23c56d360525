"""Configuration of the Polygon/Massive market data feed."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr, model_validator

from tradewire.configbase import Int, NonNegativeFloat, PositiveFloat, PositiveInt, StrictModel

# reference/polygon.md section 1: hosts by feed; path is the market.
FEED_HOSTS: dict[str, str] = {
    "realtime": "wss://socket.massive.com",
    "delayed": "wss://delayed.massive.com",
    "realtime-polygon": "wss://socket.polygon.io",
    "delayed-polygon": "wss://delayed.polygon.io",
}

Market = Literal["stocks", "options", "indices", "crypto", "forex", "futures"]


class PolygonFeedConfig(StrictModel):
    """Where and how to connect. ``base_url_ws`` overrides ``feed`` (e.g. the local simulator).

    Attributes:
        api_key: Read from POLYGON_API_KEY / MASSIVE_API_KEY by the app config, never YAML.
        reconnect_on_clean_close: The official client stops for good on a server close 1000;
            a trading gateway that still wants data reconnects (and logs why).
        stale_after_s: No frame for this long while subscribed means the feed is stale:
            reported, and the connection is recycled. 0 disables.
        max_reconnect_attempts: Consecutive failed attempts before ``run()`` raises; 0 = never
            give up (every attempt is logged at WARNING, so it is never silent).
        connect_timeout_s: TCP connect, TLS and the WebSocket upgrade of one attempt.
        handshake_timeout_s: After the upgrade, how long to wait for the server's
            ``connected`` status. A server that stays silent fails the attempt (reconnect).
        auth_timeout_s: After sending ``auth``, how long to wait for the verdict.
        ready_timeout_s: How long :meth:`PolygonClient.connect` (and so ``subscribe`` and
            ``run``) waits for an authenticated feed across reconnects before it raises.
    """

    api_key: SecretStr | None = None
    feed: Literal["realtime", "delayed", "realtime-polygon", "delayed-polygon"] = "realtime"
    base_url_ws: str | None = None
    market: Market = "stocks"
    connect_timeout_s: PositiveFloat = 10.0
    handshake_timeout_s: PositiveFloat = 10.0
    auth_timeout_s: PositiveFloat = 10.0
    ready_timeout_s: PositiveFloat = 60.0
    reconnect_initial_s: PositiveFloat = 0.1
    reconnect_max_s: PositiveFloat = 30.0
    reconnect_factor: PositiveFloat = 2.0
    max_reconnect_attempts: Int = 0
    reconnect_on_clean_close: bool = True
    retry_on_max_connections: bool = True
    healthy_after_s: NonNegativeFloat = 30.0
    stale_after_s: NonNegativeFloat = 10.0
    ping_interval_s: PositiveFloat = 20.0
    max_frame_size: PositiveInt = 16 * 1024 * 1024
    tcp_nodelay: bool = True

    @model_validator(mode="after")
    def _check_url(self) -> PolygonFeedConfig:
        if self.base_url_ws is not None and not self.base_url_ws.startswith(("ws://", "wss://")):
            raise ValueError("base_url_ws must start with ws:// or wss://")
        return self

    @property
    def url(self) -> str:
        base = (self.base_url_ws or FEED_HOSTS[self.feed]).rstrip("/")
        # A base that already ends in the market path (e.g. a sim URL) is used as is.
        if base.endswith("/" + self.market):
            return base
        return f"{base}/{self.market}"
