"""Polygon/Massive market data: messages, sans-I/O session, picows client.

The messages (msgspec only) load with the package; the client, its config and the session
(asyncio, picows, pydantic) load on first use, so ``tradewire``'s strategy API can name the
market event types without the I/O stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradewire.venues.polygon.messages import (
    Aggregate,
    LimitUpLimitDown,
    MarketEvent,
    MinuteAggregate,
    Quote,
    Status,
    Trade,
)

if TYPE_CHECKING:
    from tradewire.venues.polygon.client import PolygonClient
    from tradewire.venues.polygon.config import PolygonFeedConfig
    from tradewire.venues.polygon.protocol import FeedSession

_LAZY = {
    "PolygonClient": "tradewire.venues.polygon.client",
    "PolygonFeedConfig": "tradewire.venues.polygon.config",
    "FeedSession": "tradewire.venues.polygon.protocol",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Aggregate",
    "FeedSession",
    "LimitUpLimitDown",
    "MarketEvent",
    "MinuteAggregate",
    "PolygonClient",
    "PolygonFeedConfig",
    "Quote",
    "Status",
    "Trade",
]
