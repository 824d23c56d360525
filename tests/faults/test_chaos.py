"""Chaos: the engine against the simulator under random faults, SIGKILLs and restarts.

For a bounded time (``TRADEWIRE_CHAOS_S``, 30 s by default; the seed is fixed, and
``TRADEWIRE_CHAOS_SEED`` changes it) a strategy trades marketable and resting orders while
the simulator's own control plane injects faults: trade_updates drops and blocks, 5xx,
429, latency, orders accepted then failed (504 or a dropped connection), stalls, and the
engine is SIGKILLed and restarted on the same journal. Then faults stop, the engine runs
once more and stops without cancelling, and its report is compared with the broker:
positions equal, open orders equal, no client_order_id twice, every broker order in the
journal.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
import urllib.request
from pathlib import Path
from typing import Any

from tradewire.engine.codec import replay
from tradewire.engine.journal import read_journal
from tradewire.sim.process import SimProcess

AUTH = {"APCA-API-KEY-ID": "test-key", "APCA-API-SECRET-KEY": "test-secret"}
CHAOS_S = float(os.environ.get("TRADEWIRE_CHAOS_S", "30"))
SEED = int(os.environ.get("TRADEWIRE_CHAOS_SEED", "20261125"))

CONFIG = """
mode: sim
broker: {request_timeout_s: 1.0, resolve_backoff_s: 0.1, resolve_attempts: 4}
risk: {max_orders_per_second: 50, max_open_orders: 60, max_position_qty: 100000,
       max_gross_exposure: 100000000, max_order_notional: 1000000, price_band_pct: 25,
       max_rejects_in_window: 100000}
journal: {fsync: never, abandon_intents_older_than_s: 5}
metrics: {enabled: false}
control: {enabled: false}
run: {panel: false, cancel_open_orders_on_stop: false, reconcile_interval_s: 1.0,
      reconcile_timeout_s: 5, finish_timeout_s: 5}
tuning: {enabled: false}
strategies:
  - path: {strategy}:Chaos
    symbols: [AAPL, MSFT]
"""

STRATEGY = '''
import random
from tradewire import Strategy

class Chaos(Strategy):
    """Marketable orders that fill, resting orders 10% away that never do, and cancels."""
    def on_start(self):
        self.rng = random.Random()
    def on_quote(self, quote):
        if quote.bid_price <= 0 or self.rng.random() > 0.05:
            return
        roll = self.rng.random()
        side = "buy" if self.rng.random() < 0.5 else "sell"
        if roll < 0.4:
            price = quote.ask_price + 0.05 if side == "buy" else quote.bid_price - 0.05
            self.submit_order(quote.symbol, side, 1, round(price, 2))
        elif roll < 0.8:
            price = quote.bid_price * 0.9 if side == "buy" else quote.ask_price * 1.1
            self.submit_order(quote.symbol, side, 1, round(price, 2))
        else:
            mine = self.open_orders()
            if mine:
                self.cancel(self.rng.choice(mine).client_order_id)
    def submit_order(self, symbol, side, qty, price):
        (self.buy if side == "buy" else self.sell)(symbol, qty, limit_price=price)
'''


def sim_request(base: str, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    headers = dict(AUTH, **({"Content-Type": "application/json"} if data else {}))
    req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read()
    return json.loads(text) if text else None


def broker_state(base: str) -> tuple[dict[str, float], set[str], list[str]]:
    positions = {
        p["symbol"]: float(p["qty"])
        for p in sim_request(base, "GET", "/v2/positions")
        if float(p["qty"])
    }
    open_ids = {
        o["client_order_id"] for o in sim_request(base, "GET", "/v2/orders?status=open&limit=500")
    }
    every: list[str] = []
    until = None
    while True:  # page through every order, newest first
        page = sim_request(
            base,
            "GET",
            "/v2/orders?status=all&limit=500&direction=desc" + (f"&until={until}" if until else ""),
        )
        every.extend(o["client_order_id"] for o in page)
        if len(page) < 500:
            return positions, open_ids, every
        until = page[-1]["submitted_at"]


FAULTS = [
    (
        "stream drop",
        lambda r: ("/_sim/stream", {"drop": True, "block_s": round(r.uniform(0.5, 3), 2)}),
    ),
    ("5xx burst", lambda r: ("/_sim/faults", {"error_5xx_rate": round(r.uniform(0.2, 0.8), 2)})),
    (
        "429",
        lambda r: ("/_sim/faults", {"reject_next_with": [429, 42910000, "rate limit exceeded"]}),
    ),
    ("latency", lambda r: ("/_sim/faults", {"latency_s": round(r.uniform(0.01, 0.2), 3)})),
    (
        "accept then 504",
        lambda r: (
            "/_sim/faults",
            {"accept_then_fail_next": r.randint(1, 3), "accept_then_fail_mode": "504"},
        ),
    ),
    (
        "accept then drop",
        lambda r: (
            "/_sim/faults",
            {"accept_then_fail_next": r.randint(1, 3), "accept_then_fail_mode": "drop"},
        ),
    ),
    ("stall", lambda r: ("/_sim/faults", {"stall_next_requests": 1})),
]
CLEAR = {
    "error_5xx_rate": 0,
    "latency_s": 0,
    "accept_then_fail_next": 0,
    "stall_next_requests": 0,
    "reject_next_with": None,
}


async def start_engine(tmp_path: Path, sim: SimProcess, duration_s: float, report: Path) -> Any:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tradewire.app.cli",
        "run",
        "--config",
        str(tmp_path / "c.yaml"),
        "--journal",
        str(tmp_path / "journal.twj"),
        "--sim-feed-url",
        sim.feed_url,
        "--sim-broker-url",
        sim.broker_url,
        "--no-panel",
        "--duration",
        str(duration_s),
        "--report-json",
        str(report),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )


def test_engine_converges_to_the_broker_after_random_faults_and_crashes(tmp_path):
    # One event loop is enough: it only drives processes (the engine runs on uvloop).
    asyncio.run(_chaos(tmp_path))


async def _chaos(tmp_path: Path) -> None:
    # Arrange
    rng = random.Random(SEED)
    (tmp_path / "chaos.py").write_text(STRATEGY)
    (tmp_path / "c.yaml").write_text(CONFIG.replace("{strategy}", str(tmp_path / "chaos.py")))
    loop = asyncio.get_running_loop()
    async with SimProcess(["--symbols", "AAPL,MSFT", "--rate", "400", "--seed", str(SEED)]) as sim:
        base = sim.broker_url
        kills = injected = 0
        deadline = loop.time() + CHAOS_S
        # Act 1: chaos, with the engine killed and restarted along the way
        while loop.time() < deadline:
            engine = await start_engine(tmp_path, sim, 3600, tmp_path / "ignored.json")
            life_end = min(deadline, loop.time() + rng.uniform(4, 10))
            while loop.time() < life_end and engine.returncode is None:
                await asyncio.sleep(rng.uniform(0.2, 1.0))
                _, make = rng.choice(FAULTS)
                path, body = make(rng)
                await asyncio.to_thread(sim_request, base, "POST", path, body)
                injected += 1
                if rng.random() < 0.3:
                    await asyncio.sleep(rng.uniform(0.2, 1.0))
                    await asyncio.to_thread(sim_request, base, "POST", "/_sim/faults", CLEAR)
            assert engine.returncode is None, (await engine.stderr.read()).decode()[-2000:]
            engine.send_signal(signal.SIGKILL)
            await asyncio.wait_for(engine.wait(), 30)
            kills += 1

        # Act 2: faults stop; the engine recovers, trades a little, stops without cancelling
        await asyncio.to_thread(sim_request, base, "POST", "/_sim/faults", CLEAR)
        await asyncio.to_thread(sim_request, base, "POST", "/_sim/stream", {"block_s": 0})
        report = tmp_path / "report.json"
        engine = await start_engine(tmp_path, sim, 8, report)
        _, err = await asyncio.wait_for(engine.communicate(), 90)
        assert engine.returncode == 0, err.decode()[-3000:]
        positions, open_ids, every = await asyncio.to_thread(broker_state, base)

    # Assert
    final = json.loads(report.read_text())
    engine_positions = {s: p["qty"] for s, p in final["positions"].items()}
    journaled = set(replay(read_journal(tmp_path / "journal.twj").records).manager.orders)
    assert kills >= 2
    assert injected >= 10
    assert len(every) > 50, "the strategy should have traded"
    assert len(every) == len(set(every)), "a client_order_id reached the broker twice"
    assert set(every) <= journaled, "the broker holds an order the journal never saw"
    assert engine_positions == positions
    assert set(final["open_orders"]) == open_ids
    summary = f"{injected} faults, {kills} SIGKILLs, {len(every)} orders"
    print(f"chaos seed {SEED}: {summary}, corrections {final['reconcile_corrections']}")
