"""Trigger quotes for tick-to-trade: the simulator both sends the tick and reads the order.

Tick-to-trade is measured on one clock in one process: the simulator notes
``CLOCK_MONOTONIC`` right after it wrote the frame holding trigger ``k`` and again when the
first bytes of the order for ``k`` are read off the broker socket. No clock crosses a process
boundary, so the figure needs no synchronisation and includes both kernels' loopback hops.

The bench protocol, the only contract between this module and a bench strategy:

- Triggers are quotes on one symbol (``TRIG`` by default) that the background source never
  sends. Trigger ``k`` has sequence number ``q = k``; its bid is ``base + (k % 100) * 0.01``
  and its ask one cent higher.
- On trigger ``k`` the strategy buys one share at the ask when ``k`` is even and sells one at
  the bid when ``k`` is odd (marketable, so it fills and the position stays within one
  share), with a ``client_order_id`` ending in ``-t<k>``.

Triggers are sent open loop, on a fixed schedule that does not wait for orders (a slow
engine cannot slow the load that measures it: no coordinated omission at the source).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TRIGGER_SYMBOL = "TRIG"
_CID_TRIGGER = re.compile(r"-t(\d+)$")


def trigger_quote(k: int, *, symbol: str = TRIGGER_SYMBOL, base: float = 100.0) -> dict[str, Any]:
    """The wire event (reference/polygon.md section 3) for trigger ``k``."""
    bid = round(base + (k % 100) * 0.01, 2)
    return {
        "ev": "Q",
        "sym": symbol,
        "bx": 11,
        "bp": bid,
        "bs": 1,
        "ax": 12,
        "ap": round(bid + 0.01, 2),
        "as": 1,
        "c": 1,
        "t": int(time.time() * 1000),
        "q": k,
        "z": 3,
    }


def trigger_of(client_order_id: str) -> int | None:
    """The trigger number a bench order answers, or ``None`` if it is not a bench order."""
    match = _CID_TRIGGER.search(client_order_id)
    return int(match.group(1)) if match else None


@dataclass(slots=True)
class TriggerLog:
    """What the simulator saw: when each trigger was due and written, when its order came."""

    symbol: str = TRIGGER_SYMBOL
    rate: float = 200.0
    count: int = 0
    started: bool = False
    done: bool = False
    # k -> (scheduled ns, written ns, frames written); the schedule is relative to the first.
    sent: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    arrivals: dict[int, int] = field(default_factory=dict)
    duplicates: int = 0
    unmatched: int = 0

    def on_order_arrival(self, client_order_id: str, ns: int) -> None:
        k = trigger_of(client_order_id)
        if k is None or k not in self.sent:
            self.unmatched += 1
        elif k in self.arrivals:
            self.duplicates += 1
        else:
            self.arrivals[k] = ns

    def status(self) -> dict[str, Any]:
        """Progress only, O(1): what a bench polls while triggers run. The whole log costs
        ~3.8 ms to build and encode at 3,000 triggers, on the loop that stamps arrivals —
        polled every 0.5 s it delayed about one trigger in a hundred by milliseconds."""
        return {
            "started": self.started,
            "done": self.done,
            "count": self.count,
            "written": len(self.sent),
            "arrived": len(self.arrivals),
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "clock": "CLOCK_MONOTONIC, simulator process",
            "symbol": self.symbol,
            "rate": self.rate,
            "count": self.count,
            "started": self.started,
            "done": self.done,
            "sent": [[k, *v] for k, v in sorted(self.sent.items())],
            "arrivals": sorted(self.arrivals.items()),
            "duplicates": self.duplicates,
            "unmatched_orders": self.unmatched,
        }


async def run_triggers(
    publish: Callable[[Sequence[Mapping[str, Any]]], int],
    log: TriggerLog,
    *,
    wait_subscribed: Callable[[], Any],
    warmup_s: float = 1.0,
    base_price: float = 100.0,
) -> None:
    """Wait for a subscriber, warm up, then send ``log.count`` triggers at ``log.rate``/s."""
    await wait_subscribed()
    await asyncio.sleep(warmup_s)
    interval_ns = int(1e9 / log.rate)
    log.started = True
    t0 = time.monotonic_ns()
    for k in range(log.count):
        due = t0 + k * interval_ns
        delay = due - time.monotonic_ns()
        if delay > 0:
            await asyncio.sleep(delay / 1e9)
        frames = publish([trigger_quote(k, symbol=log.symbol, base=base_price)])
        log.sent[k] = (due, time.monotonic_ns(), frames)
    log.done = True
