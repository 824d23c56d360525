"""Massive's REST API in the simulator: the options chain snapshot and contracts (issue 24)."""

from tradewire.sim.massive_rest.server import MassiveRestServer, market_spot, market_trades

__all__ = ["MassiveRestServer", "market_spot", "market_trades"]
