"""Polygon/Massive market data: messages, sans-I/O session, picows client."""

from tradewire.venues.polygon.client import PolygonClient
from tradewire.venues.polygon.config import PolygonFeedConfig
from tradewire.venues.polygon.messages import (
    Aggregate,
    LimitUpLimitDown,
    MarketEvent,
    MinuteAggregate,
    Quote,
    Status,
    Trade,
)
from tradewire.venues.polygon.protocol import FeedSession

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
