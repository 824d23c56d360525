"""``tradewire backtest``: strategies fed recorded or vendor market data on a simulated clock."""
