"""The simulated Polygon/Massive feed: wire encoding and the WebSocket server."""
