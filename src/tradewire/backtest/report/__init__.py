"""The backtest report: its data (``model``), figures and digest (``text``), HTML page (``html``)."""
