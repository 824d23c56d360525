"""Every error tradewire raises, arranged by what the caller should do about it.

::

    TradewireError
    ├── ConfigError                  bad YAML, unknown key or value, missing credential
    ├── JournalCorrupt               the order journal is damaged: refused, left untouched
    │   └── JournalFrameRejected     a mirrored frame is not one intact record: not appended
    ├── StrategyError                the user's strategy failed where it cannot be skipped
    ├── ProtocolError                a wire message could not be understood or produced
    │   ├── LocalProtocolError       we broke the protocol (a bug here)
    │   └── RemoteProtocolError      the peer sent something malformed or unexpected
    ├── FeedError                    market data feed problems
    │   ├── AuthError                the venue refused our key: do not retry with the same key
    │   ├── FeedClosedOK             the feed ended cleanly (close 1000/1001, or we asked)
    │   ├── FeedClosedError          the feed dropped abnormally: reconnectable
    │   ├── MaxConnectionsError      the venue's per-key connection limit was hit
    │   └── StaleFeedError           no data for longer than the configured threshold
    ├── MarketDataError              a market data REST request failed: HTTP, JSON or status
    └── BrokerError                  broker API problems; carries status, code, message
        ├── RetryableBrokerError     429, 5xx, timeout: retry lookups, never blind resends
        ├── NonRetryableBrokerError  4xx with a definitive answer: the request itself is wrong
        │   ├── OrderRejected        403/422 on an order: the venue refused it
        │   └── NotFound             404
        ├── FatalBrokerError         401/authentication: stop trading
        ├── OrderNotSent             never written (halted by the kill switch or a stop)
        └── OrderOutcomeUnknown      order may have landed: reconcile by client_order_id

Messages never contain secrets: credentials are held as ``pydantic.SecretStr`` and
nothing in this module formats a request's headers.
"""

from __future__ import annotations

import shlex


class TradewireError(Exception):
    """Root of every error raised by tradewire."""


class ConfigError(TradewireError):
    """Configuration is invalid or incomplete; the message names the file, field or variable."""


class StrategyError(TradewireError):
    """A strategy raised where trading cannot go on without it (``on_start``)."""


class JournalCorrupt(TradewireError):
    """The order journal is damaged somewhere a torn final append cannot explain.

    Cutting it would silently forget orders the broker may hold, so nothing is cut: the file
    is left byte-for-byte as it was and the message names the file, the byte offset, the
    problem and the ``tradewire journal repair`` command that keeps a copy and salvages.
    """

    def __init__(self, path: str, offset: int, problem: str) -> None:
        super().__init__(
            f"{path}: journal corrupt at byte {offset}: {problem}; the file was left untouched, "
            f"run `tradewire journal repair {shlex.quote(path)}` to keep a copy and salvage every intact record"
        )
        self.path = path
        self.offset = offset
        self.problem = problem


class JournalMalformed(JournalCorrupt):
    """A record whose checksum is right but whose contents are not a valid order record.

    The bytes are the ones written, so ``repair`` (which salvages checksummed records)
    cannot help: a writer's bug or a hand edit needs a person to look.
    """

    def __init__(self, source: str, record: int, problem: str) -> None:
        TradewireError.__init__(
            self,
            f"{source}: journal record {record} is malformed: {problem}; the file was left "
            f"untouched, inspect it with `tradewire journal show {shlex.quote(source)}`",
        )
        self.path = source
        self.offset = -1
        self.problem = problem
        self.record = record


class JournalFrameRejected(JournalCorrupt):
    """A frame offered to :meth:`~tradewire.engine.journal.store.Journal.append_frame` (a
    mirror's copy of another journal's record) is not one intact record: nothing was written.

    ``offset`` is where it would have gone; the file itself is intact.
    """

    def __init__(self, path: str, offset: int, problem: str) -> None:
        TradewireError.__init__(
            self,
            f"{path}: frame refused at byte {offset}: {problem}; nothing was appended",
        )
        self.path = path
        self.offset = offset
        self.problem = problem


class ProtocolError(TradewireError):
    """A wire message could not be understood or produced."""


class LocalProtocolError(ProtocolError):
    """We were about to violate the protocol; this is a bug in tradewire."""


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes that do not follow the protocol."""


class FeedError(TradewireError):
    """Market data feed failure."""


class AuthError(FeedError):
    """The venue refused the API key; retrying with the same key will not help."""


class FeedClosedOK(FeedError):
    """The feed ended cleanly (close code 1000/1001 or a local shutdown)."""


class FeedClosedError(FeedError):
    """The feed connection dropped abnormally; the client reconnects."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class MaxConnectionsError(FeedError):
    """The venue's connection limit for this key was reached."""


class StaleFeedError(FeedError):
    """No market data arrived within the configured stale-feed threshold."""


class MarketDataError(TradewireError):
    """A market data REST request (Massive's ``/v3/...``) failed: an HTTP error, a body that is
    not the expected JSON, or a status other than OK. ``status`` is the HTTP status (0 when no
    response came); the message names the path and Massive's own error text, never the key."""

    def __init__(self, message: str, *, status: int = 0, request_id: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.request_id = request_id


class BrokerError(TradewireError):
    """Broker API failure. ``status`` is the HTTP status (0 when there was no response)."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: int | None = None,
        retry_after: float | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.body = body

    def __str__(self) -> str:
        parts = [self.message]
        if self.status:
            parts.append(f"(HTTP {self.status}")
            parts[-1] += f", code {self.code})" if self.code is not None else ")"
        return " ".join(parts)


class RetryableBrokerError(BrokerError):
    """Transient: rate limited, server error, timeout. Retry lookups; reconcile orders."""


class NonRetryableBrokerError(BrokerError):
    """Definitive refusal of this request; sending it again will fail the same way."""


class OrderRejected(NonRetryableBrokerError):
    """The venue refused the order (403 or 422 with a body)."""


class NotFound(NonRetryableBrokerError):
    """The requested order, position or asset does not exist (404)."""


class FatalBrokerError(BrokerError):
    """Authentication or account-level failure: stop trading."""


class OrderNotSent(BrokerError):
    """The order was never written: the kill switch (or a stop) halted it while it waited for
    a rate-limit token. Nothing of it reached the venue; it is not sent later."""


class OrderOutcomeUnknown(BrokerError):
    """The order request left but no definitive answer came back.

    The order may have landed. It stays in flight until the trade_updates stream or a
    ``GET /v2/orders:by_client_order_id`` lookup settles it; it is never blindly resent.
    """

    def __init__(self, message: str, *, client_order_id: str, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.client_order_id = client_order_id


__all__ = [
    "AuthError",
    "BrokerError",
    "ConfigError",
    "FatalBrokerError",
    "FeedClosedError",
    "FeedClosedOK",
    "FeedError",
    "JournalCorrupt",
    "LocalProtocolError",
    "MarketDataError",
    "MaxConnectionsError",
    "NonRetryableBrokerError",
    "NotFound",
    "OrderNotSent",
    "OrderOutcomeUnknown",
    "OrderRejected",
    "ProtocolError",
    "RemoteProtocolError",
    "RetryableBrokerError",
    "StaleFeedError",
    "StrategyError",
    "TradewireError",
]
