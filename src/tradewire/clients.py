"""The venue clients: Polygon market data over a WebSocket, Alpaca orders over HTTP.

They bring the I/O stack (asyncio, picows, httptools, pydantic), which the strategy API at the
package root does without: ``from tradewire.clients import AlpacaClient, PolygonClient``
(``from tradewire import ...`` loads this module on first use).
"""

from tradewire.venues.alpaca.client import AlpacaClient
from tradewire.venues.polygon.client import PolygonClient

__all__ = ["AlpacaClient", "PolygonClient"]
