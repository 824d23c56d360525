"""The simulated Alpaca broker: orders, account, matching, REST, trade_updates stream."""
