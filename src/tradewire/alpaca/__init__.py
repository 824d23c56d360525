"""Alpaca execution: order requests (sans-I/O), typed messages, REST client, trade stream."""

from tradewire.alpaca.client import AlpacaClient
from tradewire.alpaca.config import AlpacaBrokerConfig
from tradewire.alpaca.errors import OrderValidationError
from tradewire.alpaca.messages import Account, Asset, Clock, Order, Position, TradeUpdate
from tradewire.alpaca.requests import OrderRequest, build_order

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
