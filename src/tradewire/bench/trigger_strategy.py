"""The strategy ``tradewire bench`` times: answer each trigger quote with one order.

It follows the bench protocol of :mod:`tradewire.sim.triggers` and does nothing else, so
tick-to-trade measures the gateway, not a model. Every other quote (the background load)
still goes through :meth:`on_quote` and is dismissed by one comparison, as a real strategy
watching many symbols would dismiss most of them.

With ``trace_path`` set it also notes, per trigger, when its callback started and when the
order call returned (``CLOCK_MONOTONIC``, the clock the simulator stamps with), so the bench
can split tick-to-trade into wire-in, engine and wire-out. Two clock reads per trigger.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from time import perf_counter_ns

from tradewire.engine.strategy import Strategy
from tradewire.sim.triggers import TRIGGER_SYMBOL
from tradewire.venues.polygon.messages import Quote


class TriggerStrategy(Strategy):
    """Buy at the ask on even triggers, sell at the bid on odd ones, one share each."""

    def on_start(self) -> None:
        self.trigger = str(self.params.get("trigger_symbol", TRIGGER_SYMBOL))
        self.tag = str(self.params.get("tag", f"bench{os.getpid()}"))
        trace = self.params.get("trace_path")
        self.trace_path = Path(trace) if trace else None
        self.trace: dict[int, tuple[int, int]] = {}
        self.orders = 0

    def on_quote(self, quote: Quote) -> None:
        if quote.symbol != self.trigger:
            return
        t_callback = perf_counter_ns()
        k = quote.sequence
        cid = f"{self.tag}-t{k}"
        if k % 2 == 0:
            self.buy(quote.symbol, 1, limit_price=quote.ask_price, client_order_id=cid)
        else:
            self.sell(quote.symbol, 1, limit_price=quote.bid_price, client_order_id=cid)
        if self.trace_path is not None:
            self.trace[k] = (t_callback, perf_counter_ns())
        self.orders += 1

    def on_stop(self) -> None:
        if self.trace_path is not None:
            self.trace_path.write_text(json.dumps(self.trace), encoding="utf-8")
