"""tradewire: a low-latency trading gateway for Polygon market data and Alpaca execution."""

from tradewire.errors import TradewireError
from tradewire.polygon.client import PolygonClient
from tradewire.polygon.messages import Aggregate, LimitUpLimitDown, MinuteAggregate, Quote, Trade

__version__ = "0.1.0"

__all__ = [
    "Aggregate",
    "LimitUpLimitDown",
    "MinuteAggregate",
    "PolygonClient",
    "Quote",
    "Trade",
    "TradewireError",
    "__version__",
]
