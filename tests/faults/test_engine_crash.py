"""SIGKILL the engine mid-trading, restart it on the same journal: no order lost or sent twice.

The simulator runs in its own process and survives the crash, exactly like the real broker.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import urllib.request
from pathlib import Path

import pytest

from tradewire.engine.journal.replay import replay
from tradewire.engine.journal.store import read_journal
from tradewire.sim.process import SimProcess

CONFIG = """
mode: sim
risk: {max_orders_per_second: 200, max_open_orders: 200, max_position_qty: 100000, max_gross_exposure: 100000000, max_order_notional: 1000000}
metrics: {enabled: false}
control: {enabled: false}
run: {panel: false}
tuning: {enabled: false}
journal: {fsync: never}
strategies:
  - path: {strategy}:Churn
    symbols: [AAPL, MSFT]
"""

STRATEGY = '''
from tradewire import Strategy

class Churn(Strategy):
    """Sends a resting limit order on most quotes: many orders in flight at any moment."""
    def on_quote(self, quote):
        if quote.bid_price > 0:
            self.buy(quote.symbol, 1, limit_price=round(quote.bid_price - 0.05, 2))
'''


def broker_orders(base_url: str) -> list[dict]:
    req = urllib.request.Request(
        base_url + "/v2/orders?status=all&limit=500&direction=asc",
        headers={"APCA-API-KEY-ID": "test-key", "APCA-API-SECRET-KEY": "test-secret"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


async def run_engine(
    tmp_path: Path,
    sim: SimProcess,
    journal: Path,
    *,
    kill_after_s: float | None,
    duration_s: float = 3,
) -> int:
    cmd = [
        sys.executable,
        "-m",
        "tradewire.app.cli",
        "run",
        "--config",
        str(tmp_path / "c.yaml"),
        "--journal",
        str(journal),
        "--sim-feed-url",
        sim.feed_url,
        "--sim-broker-url",
        sim.broker_url,
        "--no-panel",
        "--duration",
        str(duration_s),
    ]
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    if kill_after_s is not None:
        await asyncio.sleep(kill_after_s)
        proc.send_signal(signal.SIGKILL)
    await asyncio.wait_for(proc.wait(), 60)
    return proc.returncode or 0


@pytest.mark.one_loop  # the engine under test is a child process
async def test_engine_sigkilled_mid_trading_loses_and_duplicates_nothing(tmp_path):
    # Arrange
    (tmp_path / "churn.py").write_text(STRATEGY)
    (tmp_path / "c.yaml").write_text(CONFIG.replace("{strategy}", str(tmp_path / "churn.py")))
    journal = tmp_path / "journal.twj"
    async with SimProcess(["--symbols", "AAPL,MSFT", "--rate", "2000", "--seed", "11"]) as sim:
        # Act 1: trade, then SIGKILL mid-flight.
        code = await run_engine(tmp_path, sim, journal, kill_after_s=2.5)
        assert code == -signal.SIGKILL
        before = replay(read_journal(journal, repair=False).records)
        intents = set(before.manager.orders)
        assert len(intents) > 50, "the engine should have been trading when killed"

        # Act 2: restart on the same journal; it reconciles before trading, then runs a while.
        code = await run_engine(tmp_path, sim, journal, kill_after_s=None, duration_s=2)
        assert code == 0
        at_broker = broker_orders(sim.broker_url)

    # Assert: every order the broker has was journaled first; none twice; every in-doubt
    # intent from the crash is now settled (adopted or abandoned), never resent.
    broker_ids = [o["client_order_id"] for o in at_broker]
    assert len(broker_ids) == len(set(broker_ids)), "an order was sent twice"
    after = replay(read_journal(journal).records)
    assert set(broker_ids) <= set(after.manager.orders), "the broker has an order the journal lost"
    assert intents <= set(after.manager.orders)
    settled = {
        o.client_order_id: o.status.value
        for o in after.manager.orders.values()
        if o.client_order_id in intents
    }
    assert not [
        c for c in before.in_doubt if settled[c.client_order_id] in ("intent", "sent", "unknown")
    ]
    abandoned = {c for c, s in settled.items() if s == "abandoned"}
    assert not abandoned & set(broker_ids), "an order marked abandoned exists at the broker"
