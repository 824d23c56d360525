"""tradewire: a low-latency trading gateway for Polygon market data and Alpaca execution."""

from tradewire.errors import TradewireError

__version__ = "0.1.0"

__all__ = ["TradewireError", "__version__"]
