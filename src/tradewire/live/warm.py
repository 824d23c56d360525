"""Keep the order path warm between sparse orders: a dry run of it every few milliseconds.

Measured on this 2-vCPU VM (tmp micro-benchmark, the same process, pinned): the risk check
costs 1.9 µs when called back to back, 10–56 µs when it runs 5 ms after its last call with
the CPU idle in between, 12 µs even with the CPU spinning on other work; inside `tradewire
run` under the bench's load, risk 8–16 µs, build 10–23 µs, journal append 10 µs, request
write 29–53 µs — the engine's "callback → order written" of 80–160 µs is mostly code and
data gone cold between triggers (5 ms apart), not compute. Calling the same functions with
a dummy order every ``warm_path_ms`` (nothing is sent, journaled or counted) kept the risk
check at 2.2 µs p50 in the micro-benchmark. Whether it pays in the engine is the bench's
call: ``tradewire-cold`` (off) beside ``tradewire`` in docs/performance.md, issue 14.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tradewire.engine.risk import RiskEngine
from tradewire.venues.alpaca.requests import build_order

if TYPE_CHECKING:
    from tradewire.live.node import TradingNode


class OrderPathWarmer:
    """Runs the pure steps of ``TradingNode.submit`` on a dummy order: risk (on a twin
    engine, so the real throttle and counters are untouched), the request build, the
    journal frame and the HTTP bytes. Nothing leaves the process."""

    def __init__(self, node: TradingNode) -> None:
        self.node = node
        self.risk = RiskEngine(node.risk.config)  # a twin: same code and limits, own state
        self.passes = 0

    def tick(self) -> None:
        node = self.node
        symbol, ref = next(iter(node.mids.items()), ("WARM", 100.0))
        self.risk.check(
            symbol=symbol,
            side="buy",
            qty=1.0,
            price=ref,
            mid=ref,
            position=node.book.qty(symbol),
            open_orders=node.oms.open_count,
            gross_exposure=node.book.gross_exposure,
            daily_pnl=node.book.daily_pnl,
            now_ns=time.monotonic_ns(),
            working=node.oms.working.get(symbol),
            working_notional=node.oms.working_notional,
        )
        self.risk.refill()  # never throttled: the twin only warms
        request = build_order(
            symbol=symbol,
            side="buy",
            order_type="limit",
            time_in_force="day",
            qty=1.0,
            limit_price=100.0,  # any valid price: the code path is what is warmed
            stop_price=None,
            extended_hours=False,
            client_order_id="warm-0",
        )
        node.journal.frame("intent", "warm-0", {"symbol": symbol, "qty": 1.0}, 0)
        node.broker.order_bytes(request)
        self.passes += 1
