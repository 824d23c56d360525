"""Parity: one strategy on one recording, through ``tradewire sim --replay`` + ``tradewire run``
and through ``tradewire backtest`` with zero latency, sends the same orders in the same order.

The replay is paced (quotes 25 ms apart) so that, live, each order reaches the simulator's
broker and its fill comes back before the next quote, as zero latency means in a backtest.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import random
import sys
from pathlib import Path

import pytest

from tradewire.engine.journal.store import read_journal
from tradewire.sim.process import SimProcess
from tradewire.sim.sources import QUOTE_COLUMNS

ROOT = Path(__file__).parents[2]
STRATEGY = f"{ROOT}/examples/mean_reversion.py:MeanReversion"
PARAMS = {"ema_ticks": 8, "entry_bps": 2, "exit_bps": 2, "order_qty": 10, "max_position": 30}

pytestmark = pytest.mark.timeout(150)


def write_paced_quotes(path: Path, n: int, step_ms: int, seed: int) -> None:
    rng = random.Random(seed)
    mid, t0 = 100.0, 1_764_000_000_000_000_000
    with gzip.open(path, "wt", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(QUOTE_COLUMNS)
        for i in range(n):
            mid = max(50.0, mid + rng.choice((-0.04, -0.02, 0.0, 0.02, 0.04)))
            bid, ask = round(mid - 0.01, 2), round(mid + 0.01, 2)
            ns = t0 + i * step_ms * 1_000_000
            row = {
                "ticker": "AAPL",
                "ask_exchange": 11,
                "ask_price": ask,
                "ask_size": 3,
                "bid_exchange": 12,
                "bid_price": bid,
                "bid_size": 3,
                "conditions": "",
                "indicators": "",
                "participant_timestamp": ns - 1000,
                "sequence_number": i + 1,
                "sip_timestamp": ns,
                "tape": 3,
                "trf_timestamp": "",
            }
            out.writerow([row[c] for c in QUOTE_COLUMNS])


def intents(journal: Path) -> list[tuple[str, str, float, float | None]]:
    return [
        (r.data["symbol"], r.data["side"], r.data["qty"], r.data.get("limit"))
        for r in read_journal(journal).records
        if r.kind == "intent" and r.data
    ]


def test_backtest_and_sim_replay_send_the_same_orders(tmp_path, keyless_env):
    # One event loop is enough: this compares two processes (run once, not per loop kind).
    live, replayed = asyncio.run(_both(tmp_path, dict(keyless_env)))

    assert len(live) >= 4, live  # the data makes the strategy trade
    assert replayed == live


async def _both(tmp_path: Path, env: dict[str, str]) -> tuple[list, list]:
    data = tmp_path / "quotes.csv.gz"
    write_paced_quotes(data, n=200, step_ms=25, seed=11)
    config = tmp_path / "c.yaml"
    params = ", ".join(f"{k}: {v}" for k, v in PARAMS.items())
    config.write_text(
        "mode: sim\nmetrics: {enabled: false}\ncontrol: {enabled: false}\nrun: {panel: false}\n"
        "tuning: {enabled: false}\n"
        f"strategies:\n  - path: {STRATEGY}\n    symbols: [AAPL]\n    params: {{{params}}}\n"
    )

    # Live: the simulator replays the file once the strategy subscribes.
    async with SimProcess(
        ["--replay", str(data), "--replay-wait-for", "Q.AAPL", "--symbols", "AAPL"]
    ) as sim:
        run = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "tradewire", "run", "--no-panel", "--config", str(config)),
            *("--sim-feed-url", sim.feed_url, "--sim-broker-url", sim.broker_url),
            *("--journal", str(tmp_path / "live.twj"), "--duration", "9"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        _, err = await asyncio.wait_for(run.communicate(), 60)
    assert run.returncode == 0, err.decode()[-2000:]

    # Backtest: the same file, strategy, params and risk limits, zero latency.
    backtest = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tradewire", "backtest", "--data", str(data)),
        *("--strategy", STRATEGY, "--symbols", "AAPL", "--config", str(config)),
        *("--params", str(PARAMS).replace("'", '"'), "--out", str(tmp_path / "bt")),
        "--no-progress",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(backtest.communicate(), 60)
    assert backtest.returncode == 0, err.decode()[-2000:]

    return intents(tmp_path / "live.twj"), intents(tmp_path / "bt" / "journal.twj")
