"""Local venue simulator: a Polygon-compatible feed and an Alpaca-compatible paper broker
sharing one market state, spoken over the real wire protocols on loopback."""
