"""tradewire: a low-latency trading gateway for Polygon market data and Alpaca execution."""

from tradewire._version import __version__
from tradewire.engine.strategy import OrderHandle, OrderUpdate, PositionView, Strategy
from tradewire.errors import TradewireError
from tradewire.venues.alpaca.client import AlpacaClient
from tradewire.venues.polygon.client import PolygonClient
from tradewire.venues.polygon.messages import (
    Aggregate,
    LimitUpLimitDown,
    MinuteAggregate,
    Quote,
    Trade,
)

__all__ = [
    "Aggregate",
    "AlpacaClient",
    "LimitUpLimitDown",
    "MinuteAggregate",
    "OrderHandle",
    "OrderUpdate",
    "PolygonClient",
    "PositionView",
    "Quote",
    "Strategy",
    "Trade",
    "TradewireError",
    "__version__",
]
