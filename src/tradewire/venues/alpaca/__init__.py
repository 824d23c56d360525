"""Alpaca execution: order requests (sans-I/O), typed messages, REST client, trade stream."""

from tradewire.venues.alpaca.client import AlpacaClient
from tradewire.venues.alpaca.config import AlpacaBrokerConfig
from tradewire.venues.alpaca.errors import OrderValidationError
from tradewire.venues.alpaca.messages import Account, Asset, Clock, Order, Position, TradeUpdate
from tradewire.venues.alpaca.order_body import OrderRequest
from tradewire.venues.alpaca.requests import build_order

__all__ = [
    "Account",
    "AlpacaBrokerConfig",
    "AlpacaClient",
    "Asset",
    "Clock",
    "Order",
    "OrderRequest",
    "OrderValidationError",
    "Position",
    "TradeUpdate",
    "build_order",
]
