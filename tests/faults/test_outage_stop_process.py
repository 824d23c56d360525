"""Finding 8 as processes: after a trade_updates outage at 100-200 orders/s, a stop reports
the broker's truth.

A ``tradewire sim`` process and a ``tradewire run`` engine process whose strategy places
100-200 orders a second (marketable ones that fill, resting ones). The
simulator's control plane drops the engine's trade_updates stream and refuses it for a few
seconds while the orders go on filling, and the resting ones are cancelled at the broker; the engine is
stopped with SIGINT as soon as its stream is back. Its ``--report-json`` (positions, open
orders) and its journal, replayed, must equal what the broker says over REST.

Before the fix, reconciliation resolved at most 50 orders a round and the stop reported
before it finished: the report was 15-51 orders off. The test checks that the outage really
hid more than 50 outcomes from the engine until its stream was back (its reconciliation, which runs only then,
corrected more than 50 orders), so the old bound would have shown.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tests.faults.test_chaos import _kill_groups, _own_group_killed_with_parent, sim_request

from tradewire.engine.journal.replay import replay
from tradewire.engine.journal.store import read_journal
from tradewire.sim.process import SimProcess

pytestmark = [pytest.mark.timeout(90), pytest.mark.one_loop]

OUTAGE_S = 3.0

CONFIG = """
mode: sim
broker: {rate_limit_per_minute: 1000000}
risk: {max_orders_per_second: 1000, max_open_orders: 10000, max_position_qty: 1000000,
       max_gross_exposure: 1.0e+12, max_order_notional: 10000000, price_band_pct: 25,
       max_rejects_in_window: 100000}
journal: {fsync: never}
metrics: {enabled: false}
control: {enabled: false}
run: {panel: false, cancel_open_orders_on_stop: false, reconcile_interval_s: 60,
      reconcile_timeout_s: 20, finish_timeout_s: 20}
tuning: {enabled: false}
strategies:
  - path: {strategy}:Busy
    symbols: [AAPL]
"""

STRATEGY = '''
from tradewire import Strategy

class Busy(Strategy):
    """Up to 180 orders a second on a timer: every other one marketable and IOC (it fills
    or ends at once: a marketable order the market ran from, resting, filled after the
    engine's exit and made the broker differ from the report), the others resting 10% away
    (the test cancels them at the broker, as another tool would)."""
    def on_start(self):
        self.quote = None
        self.n = 0
        self.call_every(1 / 180, self.tick)
    def on_quote(self, quote):
        if quote.bid_price > 0 and quote.ask_price > 0:
            self.quote = quote
    def tick(self):
        q = self.quote
        if q is None:
            return
        self.n += 1
        buy = self.n % 4 < 2
        if self.n % 2:
            price, tif = (q.ask_price + 0.05 if buy else q.bid_price - 0.05), "ioc"
        else:
            price, tif = (q.bid_price * 0.9 if buy else q.ask_price * 1.1), "day"
        order = self.buy if buy else self.sell
        order("AAPL", 1, limit_price=round(price, 2), time_in_force=tif)
'''


def broker_orders(base: str, status: str) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = []
    until = None
    while True:  # newest first, a page of 500 at a time
        page = sim_request(
            base,
            "GET",
            f"/v2/orders?status={status}&limit=500&direction=desc"
            + (f"&until={until}" if until else ""),
        )
        orders.extend(page)
        if len(page) < 500:
            return orders
        until = page[-1]["submitted_at"]


async def until(predicate: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (value := await asyncio.to_thread(predicate)):
        assert time.monotonic() < deadline, f"not within {timeout_s}s: {what}"
        await asyncio.sleep(0.05)
    return value


async def test_a_stop_right_after_a_stream_outage_at_100_to_200_orders_a_second_reports_the_truth(
    tmp_path: Path,
) -> None:
    (tmp_path / "busy.py").write_text(STRATEGY)
    (tmp_path / "c.yaml").write_text(CONFIG.replace("{strategy}", str(tmp_path / "busy.py")))
    report, journal = tmp_path / "report.json", tmp_path / "journal.twj"
    procs: list[Any] = []
    try:
        async with (
            asyncio.timeout(75),
            SimProcess(["--symbols", "AAPL", "--rate", "400", "--seed", "8"]) as sim,
        ):
            base = sim.broker_url
            err = (tmp_path / "engine.err").open("wb")
            with err:
                engine = await asyncio.create_subprocess_exec(
                    *(sys.executable, "-m", "tradewire.app.cli", "run"),
                    *("--config", str(tmp_path / "c.yaml"), "--journal", str(journal)),
                    *("--sim-feed-url", sim.feed_url, "--sim-broker-url", sim.broker_url),
                    *("--no-panel", "--duration", "60", "--report-json", str(report)),
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=err,
                    env=dict(os.environ, PYTHONUNBUFFERED="1"),
                    preexec_fn=_own_group_killed_with_parent,
                )
            procs.append(engine)

            def stderr() -> str:
                return (tmp_path / "engine.err").read_text(errors="replace")[-3000:]

            def stream() -> dict[str, Any]:
                return sim_request(base, "GET", "/_sim/stream")  # type: ignore[no-any-return]

            # Arrange: the engine listens on trade_updates and trades
            await until(lambda: stream()["listening"] >= 1, 30, "the engine's stream")
            await until(lambda: len(broker_orders(base, "all")) >= 100, 30, "orders flowing")

            # Act: trade_updates dropped and refused for OUTAGE_S while orders fill and are
            # cancelled at the broker; SIGINT as soon as the engine's stream is back
            before = len(broker_orders(base, "all"))
            began = time.monotonic()
            await asyncio.to_thread(
                sim_request, base, "POST", "/_sim/stream", {"drop": True, "block_s": OUTAGE_S}
            )
            await asyncio.sleep(1.0)
            # Every resting order is cancelled at the broker (a dashboard's cancel-all)
            await asyncio.to_thread(sim_request, base, "DELETE", "/v2/orders")
            await asyncio.sleep(OUTAGE_S - 1.5)
            assert stream()["listening"] == 0, "the stream should be down"
            await until(lambda: stream()["listening"] >= 1, 15, "the stream back")
            back = time.monotonic() - began
            engine.send_signal(signal.SIGINT)
            stopped = time.monotonic()
            await asyncio.wait_for(engine.wait(), 40)
            took = time.monotonic() - stopped
            assert engine.returncode == 0, stderr()

            broker_positions = {
                p["symbol"]: float(p["qty"])
                for p in sim_request(base, "GET", "/v2/positions")
                if float(p["qty"])
            }
            broker_open = {o["client_order_id"] for o in broker_orders(base, "open")}
            every = broker_orders(base, "all")
    finally:
        _kill_groups(procs)
        for proc in procs:
            await proc.wait()

    # Assert: the report and the journal both equal the broker (its orders kept beside them)
    (tmp_path / "broker_orders.json").write_text(json.dumps(every))
    final = json.loads(report.read_text())
    manager = replay(read_journal(journal).records).manager
    # Order by order, where the journal and the broker disagree: what a failure shows
    differ = [
        (cid, x.status.value, x.filled_qty, b["status"], float(b["filled_qty"]))
        for b in every
        if (x := manager.orders.get(cid := b["client_order_id"])) is None
        or x.filled_qty != float(b["filled_qty"])
        or x.is_open != (cid in broker_open)
    ]
    assert final["unverified_orders"] == 0, differ
    assert {s: p["qty"] for s, p in final["positions"].items()} == broker_positions, differ
    assert set(final["open_orders"]) == broker_open, differ
    assert differ == []
    journal_open = {c for c, x in manager.orders.items() if x.is_open}
    assert journal_open == broker_open
    journal_positions: dict[str, float] = {}
    for order in manager.orders.values():
        sign = 1 if order.side == "buy" else -1
        journal_positions[order.symbol] = (
            journal_positions.get(order.symbol, 0.0) + sign * order.filled_qty
        )
    assert {s: q for s, q in journal_positions.items() if q} == broker_positions

    # The scenario is the finding's: 100-200 orders/s, and more than 50 outcomes missed.
    # Nothing reconciles while the stream is down (no cancel of the engine's waits for a
    # confirmation, the timer is 60 s): every correction was made once the stream was back,
    # by the gap's round or the stop's.
    rate = (len(every) - before) / (stopped - began)
    corrected = final["reconcile_corrections"].get("order", 0)
    log = (tmp_path / "engine.err").read_text(errors="replace")
    rounds = re.findall(r"reconciliation \((.+?)\) corrected \{'order': (\d+)", log)
    print(
        f"{len(every)} orders, {rate:.0f}/s during the outage, stream back after {back:.1f}s, "
        f"{corrected} orders corrected, {len(broker_open)} open, positions {broker_positions}, "
        f"stop took {took:.1f}s, rounds {rounds}"
    )
    assert broker_open, "orders rest at the stop: the open orders compared are not empty"
    assert 100 <= rate <= 200, rate
    assert corrected > 50, final["reconcile_corrections"]
    assert {r for r, _ in rounds} <= {"trade_updates gap", "stop", "requested during a round"}
