"""Polygon/Massive market data: messages, sans-I/O session, picows client."""

from tradewire.polygon.client import PolygonClient
from tradewire.polygon.config import PolygonFeedConfig
from tradewire.polygon.messages import (
    Aggregate,
    LimitUpLimitDown,
    MarketEvent,
    MinuteAggregate,
    Quote,
    Status,
    Trade,
)
from tradewire.polygon.protocol import FeedSession

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
