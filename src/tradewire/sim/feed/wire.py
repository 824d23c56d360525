"""Polygon feed server wire rules, sans-I/O: client actions in, status frames and batches out.

Built from reference/polygon.md sections 2 and 5, not from our client's code, so a misreading
on one side cannot hide on the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

_encode = msgspec.json.Encoder().encode
_decode_any = msgspec.json.Decoder().decode

STOCKS_EVENTS = frozenset({"T", "Q", "A", "AM", "LULD", "FMV", "NOI", "LV"})
# The crypto cluster (reference/crypto-options.md 3d; massive ``.massive/websocket.json``):
# XT trades, XQ quotes, XL2 book, XA minute and XAS second aggregates, plus business FMV.
CRYPTO_EVENTS = frozenset({"XT", "XQ", "XL2", "XA", "XAS", "FMV"})
# The options cluster: T trades, Q quotes, A second and AM minute aggregates, plus FMV; its
# tickers are the contracts' O:SPY260731P00395000 (reference/crypto-options.md 3d).
OPTIONS_EVENTS = frozenset({"T", "Q", "A", "AM", "FMV"})
MARKETS = frozenset({"stocks", "options", "indices", "crypto", "forex", "futures"})
_EVENTS_BY_MARKET = {"stocks": STOCKS_EVENTS, "crypto": CRYPTO_EVENTS, "options": OPTIONS_EVENTS}


@dataclass(frozen=True, slots=True)
class ClientAction:
    action: str
    params: str


class BadAction(ValueError):
    """The client sent something that is not ``{"action": str, "params": str}``."""


def parse_action(payload: bytes | str | memoryview) -> ClientAction:
    """Parse one client message (text or binary frame, any JSON whitespace)."""
    try:
        msg = _decode_any(payload)
    except msgspec.DecodeError as exc:
        raise BadAction(f"invalid JSON: {exc}") from None
    if not isinstance(msg, dict):
        raise BadAction("message must be a JSON object")
    action = msg.get("action")
    params = msg.get("params", "")
    if not isinstance(action, str):
        raise BadAction("missing 'action'")
    if not isinstance(params, str):
        raise BadAction("'params' must be a string")
    return ClientAction(action, params)


def split_channels(params: str) -> list[str]:
    """``"T.AAPL, Q.MSFT,AM.*"`` → ``["T.AAPL", "Q.MSFT", "AM.*"]`` (whitespace trimmed)."""
    return [c.strip() for c in params.split(",") if c.strip()]


def channel_valid(channel: str, market: str = "stocks") -> bool:
    """A channel of ``market``'s cluster: ``Q.AAPL`` on /stocks, ``XQ.BTC-USD`` on /crypto.

    The other markets (forex, indices, ...) are routed but not simulated: they take the
    stocks channels, as they did before the crypto and options clusters existed.
    """
    prefix, dot, ticker = channel.partition(".")  # split on the first dot only: T.BRK.B
    events = _EVENTS_BY_MARKET.get(market, STOCKS_EVENTS)
    return bool(dot and prefix in events and ticker)


OPTION_PREFIX = "O:"


def sub_key(channel: str, market: str) -> str:
    """Where the server keeps a subscription: its channel, except the options cluster's
    wildcards, kept as ``Q.O:*`` (stocks and options share the event names Q, T, A, AM, not
    their tickers), so ``Q.*`` on /stocks never hears an option nor ``Q.*`` on /options a stock.
    Waiting for an options wildcard subscriber is waiting for ``Q.O:*``."""
    if market == "options" and channel.endswith(".*"):
        return channel[:-1] + OPTION_PREFIX + "*"
    return channel


def market_of_path(path: str) -> str | None:
    """The market a WebSocket path names (``/crypto`` -> ``crypto``), None when none."""
    market = path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return market if market in MARKETS else None


def status(status: str, message: str) -> bytes:
    """One status frame; every status object carries ev, status and message."""
    return _encode([{"ev": "status", "status": status, "message": message}])


CONNECTED = status("connected", "Connected Successfully")
AUTH_SUCCESS = status("auth_success", "authenticated")
AUTH_FAILED = status("auth_failed", "authentication failed")
AUTH_TIMEOUT = status("auth_timeout", "No authentication request received.")
AUTH_REQUIRED = status("auth_required", "authentication required")
MAX_CONNECTIONS = status("max_connections", "Maximum number of websocket connections exceeded.")
SLOW_CONSUMER = status("slow_consumer", "Slow consumer: server-side buffer full, disconnecting.")


def event_channel(event: dict[str, Any]) -> tuple[str, str]:
    """(ev, symbol) of a wire event; the symbol key is ``pair`` for crypto (``BTC-USD``),
    ``T`` for LULD/NOI, ``sym`` otherwise."""
    ev = event["ev"]
    sym = event.get("sym")
    if sym is None:
        sym = event.get("pair")
        if sym is None:
            sym = event.get("T", "")
    return ev, sym


def encode_event(event: dict[str, Any]) -> bytes:
    return _encode(event)


def batch(items: Iterable[bytes], max_bytes: int) -> list[bytes]:
    """Join encoded events into JSON-array frames no larger than ``max_bytes``.

    A single event larger than the cap still goes out alone (it cannot be split).
    """
    frames: list[bytes] = []
    current: list[bytes] = []
    size = 2
    for item in items:
        extra = len(item) + (1 if current else 0)
        if current and size + extra > max_bytes:
            frames.append(b"[" + b",".join(current) + b"]")
            current, size = [], 2
            extra = len(item)
        current.append(item)
        size += extra
    if current:
        frames.append(b"[" + b",".join(current) + b"]")
    return frames
