"""tradewire: a low-latency trading gateway for Polygon market data and Alpaca execution.

The package root is the strategy API: what a strategy subclasses, receives and raises. It imports
no event loop, WebSocket, HTTP parser or config validation. The venue clients live in
:mod:`tradewire.clients`; ``from tradewire import AlpacaClient, PolygonClient`` still works and
loads them on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradewire._version import __version__
from tradewire.engine.multileg import Leg
from tradewire.engine.options import OptionContract, occ_symbol, parse_occ
from tradewire.engine.orders import OrderStatus
from tradewire.engine.strategy import (
    OrderClass,
    OrderEventType,
    OrderHandle,
    OrderType,
    OrderUpdate,
    PositionView,
    Side,
    Strategy,
    StrategyContext,
    TimeInForce,
    Timer,
)
from tradewire.errors import (
    AuthError,
    BrokerError,
    ConfigError,
    FatalBrokerError,
    FeedClosedError,
    FeedClosedOK,
    FeedError,
    JournalCorrupt,
    LocalProtocolError,
    MaxConnectionsError,
    NonRetryableBrokerError,
    NotFound,
    OrderNotSent,
    OrderOutcomeUnknown,
    OrderRejected,
    ProtocolError,
    RemoteProtocolError,
    RetryableBrokerError,
    StaleFeedError,
    StrategyError,
    TradewireError,
)
from tradewire.venues.polygon.messages import (
    Aggregate,
    LimitUpLimitDown,
    MinuteAggregate,
    Quote,
    Trade,
)

if TYPE_CHECKING:
    from tradewire.clients import AlpacaClient, PolygonClient

_CLIENTS = frozenset({"AlpacaClient", "PolygonClient"})


def __getattr__(name: str) -> Any:
    # The clients import asyncio, picows, httptools and pydantic: only for those who ask.
    if name in _CLIENTS:
        from tradewire import clients

        return getattr(clients, name)
    raise AttributeError(f"module 'tradewire' has no attribute {name!r}")


__all__ = [
    "Aggregate",
    "AlpacaClient",
    "AuthError",
    "BrokerError",
    "ConfigError",
    "FatalBrokerError",
    "FeedClosedError",
    "FeedClosedOK",
    "FeedError",
    "JournalCorrupt",
    "Leg",
    "LimitUpLimitDown",
    "LocalProtocolError",
    "MaxConnectionsError",
    "MinuteAggregate",
    "NonRetryableBrokerError",
    "NotFound",
    "OptionContract",
    "OrderClass",
    "OrderEventType",
    "OrderHandle",
    "OrderNotSent",
    "OrderOutcomeUnknown",
    "OrderRejected",
    "OrderStatus",
    "OrderType",
    "OrderUpdate",
    "PolygonClient",
    "PositionView",
    "ProtocolError",
    "Quote",
    "RemoteProtocolError",
    "RetryableBrokerError",
    "Side",
    "StaleFeedError",
    "Strategy",
    "StrategyContext",
    "StrategyError",
    "TimeInForce",
    "Timer",
    "Trade",
    "TradewireError",
    "__version__",
    "occ_symbol",
    "parse_occ",
]
