"""Map Alpaca HTTP answers onto the tradewire error tree (errors.py), once, at construction.

Branch on the HTTP status first: the 8-digit ``code`` usually starts with the status but not
always (40010001 arrives with 422), reference/alpaca.md section 7.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from tradewire.errors import (
    BrokerError,
    FatalBrokerError,
    NonRetryableBrokerError,
    NotFound,
    OrderRejected,
    RetryableBrokerError,
    TradewireError,
)
from tradewire.venues.alpaca.messages import ERROR_DECODER

DUPLICATE_CLIENT_ORDER_ID = "client_order_id must be unique"


class OrderValidationError(TradewireError, ValueError):
    """The order was refused locally before any byte left (bad side, missing price, …)."""


def retry_after_seconds(headers: Mapping[str, str], now_s: float) -> float | None:
    """``Retry-After`` seconds, else the time until ``X-Ratelimit-Reset`` (Unix seconds)."""
    value = headers.get("retry-after") or headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
    reset = headers.get("x-ratelimit-reset") or headers.get("X-Ratelimit-Reset")
    if reset:
        try:
            return max(0.0, float(reset) - now_s)
        except ValueError:
            pass
    return None


def error_from_response(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    is_order: bool = False,
    now_s: float = 0.0,
) -> BrokerError:
    """Build the typed error for a non-2xx answer. Non-JSON bodies are kept, not re-parsed."""
    code: int | None = None
    message = ""
    try:
        parsed = ERROR_DECODER.decode(body) if body else None
    except msgspec.DecodeError:
        parsed = None
    if parsed is not None:
        code, message = parsed.code, parsed.message
    if not message:
        message = body[:200].decode(errors="replace").strip() or f"HTTP {status}"
    kwargs = {"status": status, "code": code, "body": body}
    if status == 401:
        return FatalBrokerError(f"alpaca: not authorized: {message}", **kwargs)  # type: ignore[arg-type]
    if status == 429 or status >= 500:
        return RetryableBrokerError(
            f"alpaca: {message}",
            retry_after=retry_after_seconds(headers, now_s),
            **kwargs,  # type: ignore[arg-type]
        )
    if status == 404:
        return NotFound(f"alpaca: {message}", **kwargs)  # type: ignore[arg-type]
    if is_order and status in (403, 422):
        return OrderRejected(f"alpaca rejected the order: {message}", **kwargs)  # type: ignore[arg-type]
    return NonRetryableBrokerError(f"alpaca: {message}", **kwargs)  # type: ignore[arg-type]


def is_duplicate_client_order_id(error: BrokerError) -> bool:
    return error.status == 422 and DUPLICATE_CLIENT_ORDER_ID in error.message
