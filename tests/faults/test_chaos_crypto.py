"""Chaos with a crypto strategy beside a stock strategy (issue 23).

The simulator quotes AAPL on /stocks and BTC/USD on /crypto and charges crypto fees (25 bps,
in the asset received, posted as CFEE activities). Two strategies trade at once: the example
mean reversion on AAPL and a small crypto strategy on BTC/USD (0.001 BTC, gtc, marketable
and resting orders, sells, cancels). For ``TRADEWIRE_CRYPTO_CHAOS_S`` (12 s by default, a
fixed seed) the simulator's control plane injects a trade_updates stream gap, 429s and 5xx,
and the engine is SIGKILLed and restarted on the same journal. Then faults stop, the engine
runs once more and stops without cancelling, and its report is compared with the broker's:
positions equal fees included (the broker lists BTCUSD with ``asset_class`` crypto, read
through ``reports.broker_positions`` as the engine's ``BTC/USD``), one position per asset,
open orders equal, no client_order_id twice, every broker order in the journal, and every
fee the broker posted booked once through the ledger (a restart reads the fees the killed
engine had not read yet). Position corrections (start-up, reconcile) are printed, not
asserted: a restart takes the broker's figures for fills the killed engine missed (a stream
gap), for the pair as for the stock.

Test modules cannot import each other (``--import-mode=importlib``): the harness of
``test_chaos.py`` is copied here in small.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import random
import signal
import sys
import urllib.request
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tradewire.engine import events as ev
from tradewire.engine.journal.codec import decode_belief
from tradewire.engine.journal.replay import replay
from tradewire.engine.journal.store import read_journal
from tradewire.sim.process import SimProcess
from tradewire.venues.alpaca.messages import Position
from tradewire.venues.alpaca.reports import broker_positions

AUTH = {"APCA-API-KEY-ID": "test-key", "APCA-API-SECRET-KEY": "test-secret"}
CHAOS_S = float(os.environ.get("TRADEWIRE_CRYPTO_CHAOS_S", "12"))
SEED = int(os.environ.get("TRADEWIRE_CHAOS_SEED", "20261204"))
MARGIN_S = 60.0  # act 2's run and the broker's state; the bound that ends the test itself
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mean_reversion.py"

CONFIG = """
mode: sim
broker: {request_timeout_s: 1.0, resolve_backoff_s: 0.1, resolve_attempts: 4}
risk:
  max_orders_per_second: 50
  max_open_orders: 60
  max_position_qty: 100000
  max_gross_exposure: 100000000
  max_order_notional: 1000000
  price_band_pct: 25
  max_rejects_in_window: 100000
  crypto: {max_order_qty: 1.0, max_order_notional: 100000, max_position_qty: 10.0}
journal: {fsync: never, abandon_intents_older_than_s: 5}
metrics: {enabled: false}
control: {enabled: false}
run: {panel: false, cancel_open_orders_on_stop: false, reconcile_interval_s: 1.0,
      reconcile_timeout_s: 5, finish_timeout_s: 5}
tuning: {enabled: false}
strategies:
  - path: {example}:MeanReversion
    symbols: [AAPL]
    params: {ema_ticks: 10, entry_bps: 1, exit_bps: 1, order_qty: 1, max_position: 20,
             order_ttl_s: 0.5, cooldown_s: 0.2}
  - path: {strategy}:CryptoChaos
    symbols: [BTC/USD]
"""

STRATEGY = '''
import math
import random
from tradewire import Strategy

QTY = 0.001  # BTC: a multiple of the pair's 0.0001 increment; prices on its 1 USD increment


class CryptoChaos(Strategy):
    """Marketable buys and sells of 0.001 BTC that fill (25 bps fee each), resting gtc
    orders 10% away that never do, and cancels. Sells only what is held (no shorting)."""

    def on_start(self):
        self.rng = random.Random()

    def on_quote(self, quote):
        if quote.bid_price <= 0 or self.rng.random() > 0.1:
            return
        roll = self.rng.random()
        held = self.position(quote.symbol).qty
        selling = sum(o.qty for o in self.open_orders() if o.side == "sell")
        can_sell = held - selling >= QTY
        side = "sell" if can_sell and self.rng.random() < 0.5 else "buy"
        if roll < 0.45:
            price = math.ceil(quote.ask_price) + 1 if side == "buy" else math.floor(quote.bid_price) - 1
        elif roll < 0.8:
            price = math.floor(quote.bid_price * 0.9) if side == "buy" else math.ceil(quote.ask_price * 1.1)
        else:
            mine = self.open_orders()
            if mine:
                self.cancel(self.rng.choice(mine).client_order_id)
            return
        (self.buy if side == "buy" else self.sell)(
            quote.symbol, QTY, limit_price=float(price), time_in_force="gtc"
        )
'''

FAULTS = [
    (
        "stream gap",
        lambda r: ("/_sim/stream", {"drop": True, "block_s": round(r.uniform(0.5, 2), 2)}),
    ),
    (
        "429",
        lambda r: ("/_sim/faults", {"reject_next_with": [429, 42910000, "rate limit exceeded"]}),
    ),
    ("5xx burst", lambda r: ("/_sim/faults", {"error_5xx_rate": round(r.uniform(0.2, 0.6), 2)})),
]
CLEAR = {"error_5xx_rate": 0, "reject_next_with": None}


def sim_request(base: str, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    headers = dict(AUTH, **({"Content-Type": "application/json"} if data else {}))
    req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read()
    return json.loads(text) if text else None


def broker_state(base: str) -> tuple[list[dict[str, Any]], set[str], list[dict[str, Any]]]:
    raw_positions = sim_request(base, "GET", "/v2/positions")
    open_ids = {
        o["client_order_id"] for o in sim_request(base, "GET", "/v2/orders?status=open&limit=500")
    }
    every: list[dict[str, Any]] = []
    until = None
    while True:  # page through every order, newest first
        page = sim_request(
            base,
            "GET",
            "/v2/orders?status=all&limit=500&direction=desc" + (f"&until={until}" if until else ""),
        )
        every.extend(page)
        if len(page) < 500:
            return raw_positions, open_ids, every
        until = page[-1]["submitted_at"]


def _own_group_killed_with_parent() -> None:
    """In the engine child: its own process group, SIGKILLed when the test process dies."""
    os.setpgid(0, 0)
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # 1: PR_SET_PDEATHSIG


async def start_engine(
    tmp_path: Path, sim: SimProcess, duration_s: float, report: Path, engines: list[Any]
) -> Any:
    with (tmp_path / f"engine-{len(engines)}.err").open("wb") as err:
        engine = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "tradewire.app.cli", "run"),
            *("--config", str(tmp_path / "c.yaml"), "--journal", str(tmp_path / "journal.twj")),
            *("--sim-feed-url", sim.feed_url, "--sim-broker-url", sim.broker_url),
            *("--no-panel", "--duration", str(duration_s), "--report-json", str(report)),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            preexec_fn=_own_group_killed_with_parent,
        )
    engines.append(engine)
    return engine


def stderr_of(tmp_path: Path, engines: list[Any]) -> str:
    return (tmp_path / f"engine-{len(engines) - 1}.err").read_text(errors="replace")[-3000:]


@pytest.mark.timeout(CHAOS_S + MARGIN_S + 30)
def test_a_crypto_and_a_stock_strategy_converge_to_the_broker_after_chaos(tmp_path):
    asyncio.run(_bounded_chaos(tmp_path))


async def _bounded_chaos(tmp_path: Path) -> None:
    engines: list[Any] = []
    try:
        async with asyncio.timeout(CHAOS_S + MARGIN_S):
            await _chaos(tmp_path, engines)
    finally:
        for engine in engines:
            if engine.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(engine.pid, signal.SIGKILL)
        for engine in engines:
            await engine.wait()


async def _chaos(tmp_path: Path, engines: list[Any]) -> None:
    # Arrange
    rng = random.Random(SEED)
    (tmp_path / "crypto_chaos.py").write_text(STRATEGY)
    config = CONFIG.replace("{example}", str(EXAMPLE))
    (tmp_path / "c.yaml").write_text(
        config.replace("{strategy}", str(tmp_path / "crypto_chaos.py"))
    )
    sim_args = [
        *("--symbols", "AAPL", "--rate", "200", "--seed", str(SEED)),
        *("--crypto", "BTC/USD", "--crypto-rate", "100", "--crypto-fee-bps", "25"),
    ]
    loop = asyncio.get_running_loop()
    async with SimProcess(sim_args) as sim:
        base = sim.broker_url
        kills = injected = 0
        seen: set[str] = set()
        deadline = loop.time() + CHAOS_S
        # Act 1: faults, with the engine SIGKILLed and restarted on its journal
        while loop.time() < deadline:
            engine = await start_engine(tmp_path, sim, 3600, tmp_path / "ignored.json", engines)
            life_end = min(deadline, loop.time() + rng.uniform(3, 6))
            while loop.time() < life_end and engine.returncode is None:
                await asyncio.sleep(rng.uniform(0.2, 0.8))
                name, make = rng.choice(FAULTS)
                path, body = make(rng)
                await asyncio.to_thread(sim_request, base, "POST", path, body)
                injected += 1
                seen.add(name)
                if rng.random() < 0.3:
                    await asyncio.sleep(rng.uniform(0.2, 0.8))
                    await asyncio.to_thread(sim_request, base, "POST", "/_sim/faults", CLEAR)
            assert engine.returncode is None, stderr_of(tmp_path, engines)
            engine.send_signal(signal.SIGKILL)
            await asyncio.wait_for(engine.wait(), 30)
            kills += 1

        # Act 2: faults stop; the engine recovers, trades a little, stops without cancelling
        await asyncio.to_thread(sim_request, base, "POST", "/_sim/faults", CLEAR)
        await asyncio.to_thread(sim_request, base, "POST", "/_sim/stream", {"block_s": 0})
        report = tmp_path / "report.json"
        engine = await start_engine(tmp_path, sim, 5, report, engines)
        await asyncio.wait_for(engine.wait(), 45)
        assert engine.returncode == 0, stderr_of(tmp_path, engines)
        raw_positions, open_ids, orders = await asyncio.to_thread(broker_state, base)
        activities = await asyncio.to_thread(
            sim_request, base, "GET", "/v2/account/activities?activity_types=CFEE,FEE"
        )

    # Assert
    (tmp_path / "broker.json").write_text(json.dumps({"orders": orders, "fees": activities}))
    final = json.loads(report.read_text())
    engine_positions = {s: p["qty"] for s, p in final["positions"].items()}
    raw = msgspec.convert(raw_positions, list[Position])
    broker = {key: qty for key, (qty, _) in broker_positions(raw).items() if qty}
    records = read_journal(tmp_path / "journal.twj").records
    journal = replay(records)
    corrected = [  # positions taken from the broker (start-up, reconcile): printed
        b
        for b in map(decode_belief, records)
        if isinstance(b, ev.PositionCorrected) and b.reason != "snapshot"
    ]
    every = [o["client_order_id"] for o in orders]
    traded = {o["symbol"] for o in orders if o["status"] == "filled"}
    assert kills >= 2
    assert seen == {name for name, _ in FAULTS}
    assert len(every) > 20, "the strategies should have traded"
    assert traded == {"AAPL", "BTC/USD"}, "both strategies should have filled orders"
    assert len(every) == len(set(every)), "a client_order_id reached the broker twice"
    assert set(every) <= set(journal.manager.orders), "the journal never saw a broker order"
    # one position per asset, whatever symbol form each message used
    assert sorted(p.symbol for p in raw) == sorted({p.symbol for p in raw})
    assert {p.symbol for p in raw} <= {"AAPL", "BTCUSD"}
    assert "BTC/USD" in broker, "the crypto strategy should hold BTC at the end"
    assert set(engine_positions) == set(broker)
    for key, qty in broker.items():  # a buy of 0.001 BTC leaves 0.0009975 after its fee
        assert engine_positions[key] == pytest.approx(qty, rel=0, abs=1e-12), key
    # fees included: the positions above are net of them; no fee the broker did not post
    assert activities, "the simulator should have charged crypto fees"
    assert journal.fee_ids <= {a["id"] for a in activities}
    assert journal.fee_ids == {a["id"] for a in activities}, "a fee never reached the ledger"
    assert set(final["open_orders"]) == open_ids
    summary = f"{injected} faults, {kills} SIGKILLs, {len(every)} orders, {len(activities)} fees"
    summary += f" ({len(journal.fee_ids)} booked)"
    print(
        f"crypto chaos seed {SEED}: {summary}, positions {broker}, "
        f"corrections {len(corrected)} {final['reconcile_corrections']}"
    )
