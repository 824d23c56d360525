"""Network plumbing shared by the venues: reconnect backoff, and what both WebSockets share."""
