"""Sans-I/O Polygon feed session: bytes in, events and outgoing messages out.

The session knows the handshake (server speaks first, then ``auth``), the subscription
set, and how to decode a data frame; it never touches a socket, so every rule is unit
tested with bytes. The I/O adapter (``client.py``) feeds it frames and writes
``data_to_send()``.

Unlike the official client (reference/polygon.md section 4, issue #800), the *desired*
subscription set survives a reconnect: :meth:`FeedSession.reset` forgets the connection,
not what the user asked for, and the whole set is sent again after ``auth_success``.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec
from pydantic import SecretStr

from tradewire.errors import AuthError, MaxConnectionsError, RemoteProtocolError, TradewireError
from tradewire.venues.polygon.crypto import CRYPTO_FRAME_DECODER, CRYPTO_ITEM_DECODERS
from tradewire.venues.polygon.messages import (
    FRAME_DECODER,
    ITEM_DECODERS,
    RAW_FRAME_DECODER,
    RAW_ITEM_HEAD,
    MarketEvent,
    Status,
)
from tradewire.venues.polygon.options import OPTIONS_FRAME_DECODER, OPTIONS_ITEM_DECODERS

log = logging.getLogger(__name__)


class Decoder(Protocol):
    """What decodes a market's frames: a ``msgspec.json.Decoder``, or the options cluster's,
    which also takes the ``O:`` off each symbol."""

    def decode(self, buf: bytes | bytearray | memoryview | str, /) -> Any: ...


# Each Massive cluster is a path of the one host (wss://socket.massive.com/stocks, /crypto,
# /options): its frame decoder (the fast path) and its per-event decoders (the tolerant path).
MARKETS: dict[str, tuple[Decoder, Mapping[str, Decoder]]] = {
    "stocks": (FRAME_DECODER, ITEM_DECODERS),
    "crypto": (CRYPTO_FRAME_DECODER, CRYPTO_ITEM_DECODERS),
    "options": (OPTIONS_FRAME_DECODER, OPTIONS_ITEM_DECODERS),
}


def market_url(url: str, market: str) -> str:
    """The feed URL of ``market`` on the host ``url`` names (its last path segment, a
    market, is replaced; a URL with no path gets one): ``--sim-feed-url ws://H:P/stocks``
    gives the crypto cluster at ``ws://H:P/crypto`` and the options one at ``ws://H:P/options``."""
    scheme, sep, rest = url.partition("://")
    host, _slash, path = rest.partition("/")
    head = path.rsplit("/", 1)[0] + "/" if "/" in path else ""
    return f"{scheme}{sep}{host}/{head}{market}"


_ENCODER = msgspec.json.Encoder()


class SessionState(enum.Enum):
    CONNECTING = "connecting"  # socket open, waiting for the server's "connected"
    AUTHENTICATING = "authenticating"  # auth sent, waiting for the verdict
    AUTHENTICATED = "authenticated"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class SessionError:
    """A problem the adapter must act on: ``error.fatal`` means do not reconnect."""

    error: TradewireError
    fatal: bool


@dataclass(frozen=True, slots=True)
class Authenticated:
    """Auth succeeded; the adapter may now consider the feed live."""


@dataclass(frozen=True, slots=True)
class SubscriptionAck:
    channel: str
    subscribed: bool


@dataclass(frozen=True, slots=True)
class ServerNotice:
    """A status the session does not act on itself (``error``, unknown statuses)."""

    status: str
    message: str


ControlEvent = SessionError | Authenticated | SubscriptionAck | ServerNotice

# Statuses after which the server closes the connection. Close codes are UNCONFIRMED
# upstream, so the status text, not the code, decides what we report.
_DISCONNECT_STATUSES = {"max_connections", "slow_consumer", "force_disconnect", "auth_timeout"}

UNKNOWN_TYPES_MAX = 64
"""Distinct unknown ``ev`` types remembered (each is logged once); later ones are only counted."""
_EV_PREVIEW = 40  # characters of a peer-chosen ``ev`` kept in memory and logs

LOG_BURST = 10
LOG_WINDOW_S = 60.0


class LogThrottle:
    """At most ``burst`` warnings of one kind per ``window_s``; the rest are counted.

    A hostile or broken peer chooses how many bad items it sends, so it must not also choose
    how many log lines we write. The first call after a window with suppressed warnings logs
    one summary line with their number. Only the error paths call this, never the hot path.
    """

    __slots__ = ("_clock", "_start", "_used", "burst", "suppressed", "what", "window_s")

    def __init__(
        self,
        what: str,
        *,
        burst: int = LOG_BURST,
        window_s: float = LOG_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self.burst = burst
        self.window_s = window_s
        self.suppressed = 0
        self._clock = clock
        self._start = clock()
        self._used = 0

    def allow(self) -> bool:
        """True if this warning may be logged now."""
        now = self._clock()
        if now - self._start >= self.window_s:
            if self.suppressed:
                log.warning(
                    "polygon: suppressed %d more %s warnings in the last %.0fs",
                    self.suppressed,
                    self.what,
                    now - self._start,
                )
            self._start, self._used, self.suppressed = now, 0, 0
        if self._used < self.burst:
            self._used += 1
            return True
        self.suppressed += 1
        return False


def normalize_channels(channels: Iterable[str]) -> list[str]:
    """Trim, drop empties and validate ``CHANNEL.TICKER`` form (ticker may contain dots)."""
    out: list[str] = []
    for raw in channels:
        ch = raw.strip()
        if not ch:
            continue
        prefix, dot, ticker = ch.partition(".")
        if not dot or not prefix or not ticker:
            raise ValueError(f"bad channel {raw!r}: expected CHANNEL.TICKER, e.g. Q.AAPL or T.*")
        out.append(f"{prefix.upper()}.{ticker}")
    return out


class FeedSession:
    """One logical feed subscription across any number of physical connections.

    Call :meth:`reset` when a new connection opens, :meth:`receive` with each frame's
    payload, and write everything :meth:`data_to_send` returns. Market events come back from
    :meth:`receive` in frame order; control events are queued in :attr:`control_events`.
    """

    def __init__(
        self,
        api_key: SecretStr,
        *,
        clock: Callable[[], float] = time.monotonic,
        market: str = "stocks",
    ) -> None:
        if market not in MARKETS:
            raise ValueError(f"market {market!r}: one of {', '.join(MARKETS)}")
        self.market = market
        self._frame_decoder, self._item_decoders = MARKETS[market]
        self._api_key = api_key
        self.state = SessionState.CONNECTING
        self.desired: set[str] = set()
        self.confirmed: set[str] = set()
        self._outbox: list[bytes] = []
        self.control_events: list[ControlEvent] = []
        # Counters are plain ints: read by metrics off the hot path.
        self.frames = 0
        self.events = 0
        self.unknown_events = 0
        self.malformed_items = 0
        self.malformed_frames = 0
        # Bounded: at most UNKNOWN_TYPES_MAX entries, each at most _EV_PREVIEW characters.
        self.unknown_types: set[str] = set()
        self._unknown_log = LogThrottle("unknown event type", clock=clock)
        self._malformed_log = LogThrottle("malformed frame/event", clock=clock)
        self._status_log = LogThrottle("server status", clock=clock)

    def __repr__(self) -> str:
        return f"FeedSession(state={self.state.value}, subscriptions={len(self.desired)})"

    # -- connection lifecycle ------------------------------------------------------------

    def reset(self) -> None:
        """Start over for a new connection; keeps the desired subscriptions."""
        self.state = SessionState.CONNECTING
        self.confirmed.clear()
        self._outbox.clear()

    def close(self) -> None:
        self.state = SessionState.CLOSED
        self._outbox.clear()

    # -- subscriptions -------------------------------------------------------------------

    def subscribe(self, channels: Iterable[str]) -> list[str]:
        """Add channels to the desired set; sends now if authenticated. Returns the new ones."""
        new = [c for c in normalize_channels(channels) if c not in self.desired]
        self.desired.update(new)
        if new and self.state is SessionState.AUTHENTICATED:
            self._send_action("subscribe", new)
        return new

    def unsubscribe(self, channels: Iterable[str]) -> list[str]:
        gone = [c for c in normalize_channels(channels) if c in self.desired]
        self.desired.difference_update(gone)
        self.confirmed.difference_update(gone)
        if gone and self.state is SessionState.AUTHENTICATED:
            self._send_action("unsubscribe", gone)
        return gone

    @property
    def has_output(self) -> bool:
        """True when :meth:`data_to_send` has something; cheap enough for the hot path."""
        return bool(self._outbox)

    def data_to_send(self) -> list[bytes]:
        out, self._outbox = self._outbox, []
        return out

    def _send_action(self, action: str, channels: list[str]) -> None:
        self._outbox.append(
            _ENCODER.encode({"action": action, "params": ",".join(sorted(channels))})
        )

    # -- receiving -----------------------------------------------------------------------

    def receive(self, data: bytes | bytearray | memoryview | str) -> list[MarketEvent]:
        """Decode one frame. Never raises for bad input: problems are counted and reported.

        The fast path decodes the whole array into typed Structs in one call. If that fails
        (unknown ``ev``, one malformed element, not an array), each element is decoded on its
        own, so one bad element never costs the good ones around it.
        """
        self.frames += 1
        try:
            items = self._frame_decoder.decode(data)
        except msgspec.DecodeError:
            items = self._decode_per_item(data)
        events: list[MarketEvent] = []
        for item in items:
            if type(item) is Status:
                self._on_status(item)
            else:
                events.append(item)
        self.events += len(events)
        return events

    def _decode_per_item(
        self, data: bytes | bytearray | memoryview | str
    ) -> list[MarketEvent | Status]:
        try:
            raws = RAW_FRAME_DECODER.decode(data)
        except msgspec.DecodeError as exc:
            self.malformed_frames += 1
            if self._malformed_log.allow():
                preview = bytes(data[:80]) if not isinstance(data, str) else data[:80].encode()
                log.warning(
                    "polygon: dropped a frame that is not a JSON array (%s): %r", exc, preview
                )
            self.control_events.append(
                ServerNotice("malformed_frame", f"frame is not a JSON array: {exc}")
            )
            return []
        out: list[MarketEvent | Status] = []
        for raw in raws:
            try:
                head = RAW_ITEM_HEAD.decode(raw)
            except msgspec.DecodeError as exc:
                self._malformed(raw, f"not an object: {exc}")
                continue
            ev = head.get("ev")
            decoder = self._item_decoders.get(ev) if isinstance(ev, str) else None
            if decoder is None:
                self.unknown_events += 1
                self._unknown(ev)
                continue
            try:
                out.append(decoder.decode(raw))
            except msgspec.ValidationError as exc:
                self._malformed(raw, str(exc))
        return out

    def _unknown(self, ev: object) -> None:
        # The peer picks ``ev``: remember a bounded number of short keys, log at a bounded rate.
        key = str(ev)[:_EV_PREVIEW]
        seen = self.unknown_types
        if key in seen:
            return
        if len(seen) < UNKNOWN_TYPES_MAX:
            seen.add(key)
            if self._unknown_log.allow():
                log.warning("polygon: ignoring unknown event type ev=%r (logged once)", key)
        elif self._unknown_log.allow():
            log.warning(
                "polygon: ignoring unknown event type ev=%r (%d types seen; not remembering more)",
                key,
                UNKNOWN_TYPES_MAX,
            )

    def _malformed(self, raw: msgspec.Raw, why: str) -> None:
        self.malformed_items += 1
        if self._malformed_log.allow():
            log.warning("polygon: dropped a malformed event (%.200s): %.120r", why, bytes(raw))
        self.control_events.append(
            SessionError(RemoteProtocolError(f"malformed event: {why}"), fatal=False)
        )

    def _on_status(self, msg: Status) -> None:
        status = msg.status
        if status == "connected":
            if self.state is SessionState.CONNECTING:
                self.state = SessionState.AUTHENTICATING
                self._outbox.append(
                    _ENCODER.encode({"action": "auth", "params": self._api_key.get_secret_value()})
                )
        elif status == "auth_success" or (
            # Historic servers answered auth with status "success", message "authenticated".
            status == "success"
            and self.state is SessionState.AUTHENTICATING
            and msg.message == "authenticated"
        ):
            self.state = SessionState.AUTHENTICATED
            self.control_events.append(Authenticated())
            if self.desired:
                self._send_action("subscribe", sorted(self.desired))
        elif status == "auth_failed":
            self.state = SessionState.CLOSED
            self.control_events.append(
                SessionError(AuthError(f"polygon refused the API key: {msg.message}"), fatal=True)
            )
        elif status == "success":
            self._on_ack(msg.message)
        elif status == "max_connections":
            self.control_events.append(
                SessionError(
                    MaxConnectionsError(f"polygon connection limit reached: {msg.message}"),
                    fatal=False,
                )
            )
        elif status in _DISCONNECT_STATUSES:
            self.control_events.append(ServerNotice(status, msg.message))
        else:
            # "error" (e.g. not entitled), "auth_required" and anything new: surface it.
            if self._status_log.allow():
                log.warning("polygon status %.40s: %.200s", status, msg.message)
            self.control_events.append(ServerNotice(status, msg.message))

    def _on_ack(self, message: str) -> None:
        # "subscribed to: T.AAPL" / "unsubscribed to: T.AAPL" (sic).
        verb, sep, channel = message.partition(":")
        if not sep:
            self.control_events.append(ServerNotice("success", message))
            return
        channel = channel.strip()
        subscribed = verb.strip().startswith("subscribed")
        if subscribed:
            # Only what we asked for: unsolicited acks must not grow the set.
            if channel in self.desired:
                self.confirmed.add(channel)
        else:
            self.confirmed.discard(channel)
        self.control_events.append(SubscriptionAck(channel, subscribed))
