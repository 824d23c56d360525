"""``tradewire bench --backtest``: backtest events/s, ours beside NautilusTrader's, one run.

The same synthetic quotes_v1 flat file (three tickers, seeded) feeds both. Ours is timed
three ways: reading the flat file alone, the backtest node with a no-op strategy and with
the sample mean-reversion strategy (the data pre-read, as Nautilus's ``run()`` is timed
after its data is loaded). Nautilus runs ``contenders/backtest_nautilus.py`` (an equivalent no-op and
EMA limit-order strategy) in whatever Python has ``nautilus_trader``: ``--nautilus-python``,
``$TRADEWIRE_NAUTILUS_PYTHON``, or this one; without it the contender is reported skipped.
Figures only: nothing here asserts a speed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradewire.backtest.broker import BacktestBroker
from tradewire.backtest.data import iter_batches, write_quotes_flat_file
from tradewire.backtest.latency import parse_latency_model
from tradewire.backtest.node import BacktestNode
from tradewire.bench import contender
from tradewire.engine.config import RiskConfig
from tradewire.engine.journal import Journal
from tradewire.engine.loading import StrategyConfig, load_strategy
from tradewire.engine.strategy import Strategy

SYMBOLS = ("AAPL", "MSFT", "NVDA")
SAMPLE = Path(__file__).parents[3] / "examples" / "mean_reversion.py"
# As backtest_nautilus.py's EMA strategy: no pause after a denial (it never gets one).
SAMPLE_PARAMS = {"ema_ticks": 50, "entry_bps": 3, "exit_bps": 3, "order_qty": 10, "cooldown_s": 0}
NAUTILUS_SCRIPT = contender("backtest_nautilus.py")


class _Noop(Strategy):
    def on_quote(self, quote: Any) -> None:
        return None


# Nautilus's engine runs no pre-trade limits: ours are opened wide so both strategies send
# the orders their logic asks for (the default 20 orders/s denied most of them).
WIDE_RISK = RiskConfig(
    max_orders_per_second=1e9,
    max_open_orders=1_000_000,
    max_gross_exposure=1e12,
    max_daily_loss=1e12,
    max_rejects_in_window=1_000_000,
)


def _ours(batches: list[Any], strategy: Strategy, workdir: Path) -> dict[str, Any]:
    journal = Journal(workdir / f"{strategy.name}.twj", fsync="never")
    node = BacktestNode(
        [strategy],
        journal=journal,
        broker=BacktestBroker(fill_model="touch", seed=0, starting_cash=Decimal(1_000_000)),
        latency=parse_latency_model("zero"),
        risk_config=WIDE_RISK,
    )
    t0 = time.perf_counter()
    node.run(batches)
    wall = time.perf_counter() - t0
    journal.close()
    return {
        "events": node.events,
        "wall_s": round(wall, 4),
        "events_per_s": round(node.events / wall),
        "orders": node.orders,
        "fills": len(node.fills),
    }


def _nautilus_python(explicit: str | None) -> str | None:
    for candidate in (explicit, os.environ.get("TRADEWIRE_NAUTILUS_PYTHON"), sys.executable):
        if not candidate:
            continue
        probe = subprocess.run(
            [candidate, "-c", "import nautilus_trader; print(nautilus_trader.__version__)"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0:
            return candidate
    return None


def _nautilus(python: str, data: Path, strategy: str, workdir: Path) -> dict[str, Any]:
    out = workdir / f"nautilus-{strategy}.json"
    subprocess.run(
        [python, str(NAUTILUS_SCRIPT), "--data", str(data), "--strategy", strategy, "--json", out],
        check=True,
        capture_output=True,
    )
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def run(
    *, rows: int = 300_000, rounds: int = 3, nautilus_python: str | None = None
) -> dict[str, Any]:
    """Alternate the contenders ``rounds`` times and report each one's median."""
    with tempfile.TemporaryDirectory(prefix="tw-bench-backtest-") as tmp:
        workdir = Path(tmp)
        data = write_quotes_flat_file(workdir / "quotes.csv.gz", SYMBOLS, rows, seed=1)
        python = _nautilus_python(nautilus_python)
        runs: dict[str, list[dict[str, Any]]] = {}
        for _ in range(rounds):
            t0 = time.perf_counter()
            batches = list(iter_batches(data))
            read_s = time.perf_counter() - t0
            runs.setdefault("tradewire-read", []).append(
                {"events_per_s": round(rows / read_s), "wall_s": round(read_s, 4)}
            )
            runs.setdefault("tradewire-noop", []).append(
                _ours(batches, _Noop(symbols=list(SYMBOLS), name="noop"), workdir)
            )
            sample = load_strategy(
                StrategyConfig(f"{SAMPLE}:MeanReversion", list(SYMBOLS), SAMPLE_PARAMS)
            )
            runs.setdefault("tradewire-sample", []).append(_ours(batches, sample, workdir))
            if python is not None:
                for strategy in ("noop", "ema"):
                    found = _nautilus(python, data, strategy, workdir)
                    found["events_per_s"] = found.get("quotes_per_s")
                    runs.setdefault(f"nautilus-{strategy}", []).append(found)
    medians = {
        name: {
            "events_per_s": statistics.median(r["events_per_s"] for r in results),
            "runs": [r["events_per_s"] for r in results],
            **{k: v for k, v in results[0].items() if k in ("orders", "fills", "nautilus_version")},
        }
        for name, results in runs.items()
    }
    return {
        "rows": rows,
        "symbols": list(SYMBOLS),
        "rounds": rounds,
        "contenders": medians,
        "skipped": {}
        if python is not None
        else {"nautilus": "no Python with nautilus_trader (pip install nautilus-trader)"},
    }


def report(results: dict[str, Any]) -> str:
    lines = [
        f"backtest ({results['rows']:,} quotes of {', '.join(results['symbols'])}, "
        f"median of {results['rounds']}):"
    ]
    for name, figures in results["contenders"].items():
        extra = f" ({figures['orders']} orders)" if "orders" in figures else ""
        lines.append(f"  {name:18} {figures['events_per_s']:>12,.0f} events/s{extra}")
    lines.extend(f"  {name:18} skipped: {why}" for name, why in results["skipped"].items())
    return "\n".join(lines)
