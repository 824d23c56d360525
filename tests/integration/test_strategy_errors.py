"""A strategy that raises: one traceback, then counts; past its budget it is stopped, its
orders cancelled, and the summary, the report and the exit code say so."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]

pytestmark = pytest.mark.timeout(120)

FAILING = '''
from tradewire import Strategy


class Failing(Strategy):
    """Rests one buy 3% below the market, then raises on every quote."""

    def on_quote(self, quote):
        if not self.open_orders() and not getattr(self, "placed", False):
            self.placed = True
            self.buy(quote.symbol, 1, limit_price=round(quote.price * 0.97, 2))
            return
        raise RuntimeError("boom")
'''


def _run(tmp_path: Path, env: dict[str, str], run_settings: str, duration: str) -> tuple:
    (tmp_path / "failing.py").write_text(FAILING)
    config = tmp_path / "c.yaml"
    config.write_text(
        "mode: sim\nmetrics: {enabled: false}\ncontrol: {enabled: false}\n"
        f"run: {{panel: false, panel_refresh_s: 0.2, {run_settings}}}\n"
        "tuning: {enabled: false}\nsimulator: {symbols: [AAPL], rate: 1000}\n"
        f"journal: {{path: {tmp_path}, fsync: never}}\n"
        "strategies:\n  - path: failing.py:Failing\n    name: bad\n    symbols: [AAPL]\n"
    )
    report = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tradewire",
            "run",
            "--no-panel",
            "--config",
            str(config),
            "--duration",
            duration,
            "--report-json",
            str(report),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=100,
        env=env,
    )
    return done, json.loads(report.read_text()) if report.exists() else None


def test_a_strategy_past_its_error_budget_is_stopped_and_its_orders_cancelled(
    tmp_path, keyless_env
):
    done, report = _run(
        tmp_path,
        dict(keyless_env),
        "strategy_max_errors: 5, strategy_error_window_s: 60",
        "4",
    )
    out = done.stdout + done.stderr

    assert done.returncode == 4, out[-3000:]
    assert out.count("Traceback") == 1, out[-3000:]
    assert "strategy bad: stopped after 5 errors in 60s (last: RuntimeError: boom)" in done.stdout
    assert "tradewire run: strategy bad stopped after 5 errors" in done.stderr
    assert report["strategy_errors"] == {"bad": 5}
    assert report["summary"]["strategies"]["bad"].startswith("stopped after 5 errors")
    # Its resting buy was cancelled when it was stopped, and nothing is left open.
    assert report["summary"]["orders_sent"] == 1
    assert report["summary"]["orders_canceled"] == 1
    assert report["open_orders"] == []


def test_errors_on_every_quote_print_one_traceback_then_counts(tmp_path, keyless_env):
    done, report = _run(tmp_path, dict(keyless_env), "strategy_max_errors: 0", "3")
    out = done.stdout + done.stderr

    assert done.returncode == 0, out[-3000:]
    assert out.count("Traceback") == 1, out[-3000:]
    # The count line at the stop (the periodic one is unit-tested: test_strategy_health).
    counted = [int(n) for n in re.findall(r"strategy bad raised (\d+) more times", out)]
    assert counted, out[-3000:]
    errors = report["strategy_errors"]["bad"]
    assert errors > 100  # it raised on every quote ...
    assert 1 + sum(counted) == errors  # ... and the log accounts for every one


def test_the_summary_agrees_with_the_last_panel_line(tmp_path, keyless_env):
    done, report = _run(tmp_path, dict(keyless_env), "strategy_max_errors: 5", "3")
    last = [line for line in done.stdout.splitlines() if line.startswith("[sim ")][-1]
    s = report["summary"]

    fields = dict(re.findall(r"(\w+)=([-+\w.,]+)", last))
    assert int(fields["sent"]) == s["orders_sent"]
    assert int(fields["canceled"]) == s["orders_canceled"]
    assert int(fields["fills"]) == s["fills"]
    assert int(fields["open"]) == s["open_orders"]
    assert float(fields["pnl"]) == pytest.approx(s["realized_pnl"] + s["unrealized_pnl"], abs=0.01)
    assert f"{s['orders_sent']:,} sent" in done.stdout
