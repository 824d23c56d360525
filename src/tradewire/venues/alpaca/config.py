"""Configuration of the Alpaca execution client."""

from __future__ import annotations

from pydantic import SecretStr, model_validator

from tradewire.configbase import NonNegativeInt, PositiveFloat, PositiveInt, StrictModel

PAPER_URL = "https://paper-api.alpaca.markets"
LIVE_URL = "https://api.alpaca.markets"


class AlpacaBrokerConfig(StrictModel):
    """Where and how to reach Alpaca. Keys come from the environment, never from YAML.

    Attributes:
        live: Use the live (real money) host instead of paper; the app also requires
            ``allow_live_trading: true`` before it will trade live.
        base_url: Overrides the host (the local simulator, a proxy).
        request_timeout_s: Read timeout of a REST call. An order whose answer does not come
            in time is *unknown*, never resent blindly.
        resolve_attempts: Lookups by client_order_id before an unknown order is reported as
            still unknown (it then stays in flight until the stream or reconciliation settles it).
        pool_size: Order connections kept open and warm.
        max_connections: The most order connections ever open at once (at least
            ``pool_size``). When the broker slows, requests beyond it wait in FIFO order for a
            free connection, within ``request_timeout_s``, instead of opening hundreds.
        stream_reconnect_max_s: The longest wait between two reconnects of trade_updates.
        stream_start_timeout_s: How long a start waits for trade_updates to listen. Without
            fills the engine's truth would drift, so it does not trade until then: past this
            it exits with one line.
    """

    key_id: SecretStr | None = None
    secret_key: SecretStr | None = None
    live: bool = False
    base_url: str | None = None
    stream_url: str | None = None
    pool_size: PositiveInt = 2
    max_connections: PositiveInt = 16
    connect_timeout_s: PositiveFloat = 5.0
    request_timeout_s: PositiveFloat = 5.0
    rate_limit_per_minute: PositiveInt = 200
    resolve_attempts: PositiveInt = 5
    resolve_backoff_s: PositiveFloat = 0.2
    max_retries_before_send: NonNegativeInt = 2
    stream_reconnect_max_s: PositiveFloat = 30.0
    stream_start_timeout_s: PositiveFloat = 10.0

    @model_validator(mode="after")
    def _check_urls(self) -> AlpacaBrokerConfig:
        if self.base_url is not None and not self.base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        if self.stream_url is not None and not self.stream_url.startswith(("ws://", "wss://")):
            raise ValueError("stream_url must start with ws:// or wss://")
        if self.max_connections < self.pool_size:
            raise ValueError(
                f"max_connections ({self.max_connections}) is below pool_size ({self.pool_size})"
            )
        return self

    @property
    def rest_url(self) -> str:
        return (self.base_url or (LIVE_URL if self.live else PAPER_URL)).rstrip("/")

    @property
    def trade_stream_url(self) -> str:
        if self.stream_url is not None:
            return self.stream_url
        base = self.rest_url
        scheme = "wss://" if base.startswith("https://") else "ws://"
        return scheme + base.split("://", 1)[1] + "/stream"
