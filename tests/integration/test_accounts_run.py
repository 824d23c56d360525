"""Several Alpaca accounts in one ``run`` (issue 25): each strategy trades in its account; each
account's engine equals its own broker account (positions, cash), keeps its own journal and
risk limits, and a kill of one leaves the other trading. The simulator serves each account by
its key pair; the first account's node holds the one feed and the other follows it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(120)

STRATEGY = '''
from tradewire import Strategy


class BuyOnce(Strategy):
    """Buys ``qty`` shares on the first quote, then holds."""

    def on_start(self):
        self.order = None

    def on_quote(self, quote):
        if self.order is None:
            self.order = self.buy(quote.symbol, self.params.get("qty", 1))
            self.log.info("sent %s", self.order.denied or "ok")
'''


def _config(tmp_path: Path) -> Path:
    (tmp_path / "buy_once.py").write_text(STRATEGY)
    config = tmp_path / "accounts.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            mode: sim
            accounts:
              main: {{key_env: MAIN_KEY, secret_env: MAIN_SECRET}}
              hedge:
                key_env: HEDGE_KEY
                secret_env: HEDGE_SECRET
                risk: {{max_order_qty: 5}}
            simulator: {{symbols: [AAPL, MSFT], rate: 200, seed: 3}}
            journal: {{path: {tmp_path / "j"}, fsync: never}}
            metrics: {{enabled: false}}
            control: {{enabled: false}}
            tuning: {{enabled: false}}
            run: {{panel: false, cancel_open_orders_on_stop: false}}
            strategies:
              - path: {tmp_path / "buy_once.py"}:BuyOnce
                name: in_main
                symbols: [AAPL]
                params: {{qty: 7}}
              - path: {tmp_path / "buy_once.py"}:BuyOnce
                name: in_hedge
                account: hedge
                symbols: [MSFT]
                params: {{qty: 3}}
              - path: {tmp_path / "buy_once.py"}:BuyOnce
                name: too_big_for_hedge
                account: hedge
                symbols: [AAPL]
                params: {{qty: 6}}
            """
        )
    )
    return config


def _run(config: Path, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tradewire",
            "run",
            "--config",
            str(config),
            "--duration",
            "4",
            "--no-panel",
            "--report-json",
            str(tmp_path / "report.json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=100,
        env=env,
    )


def test_each_account_trades_its_own_strategies_with_its_own_limits(
    tmp_path: Path, keyless_env: Any
) -> None:
    done = _run(_config(tmp_path), tmp_path, dict(keyless_env))
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    main, hedge = out.split("[account hedge]", 1)
    assert re.search(r"position AAPL: 7 @", main), main[-2000:]
    assert "MSFT" not in re.findall(r"position (\w+)", main)
    assert re.search(r"position MSFT: 3 @", hedge), hedge[-2000:]
    # hedge's own limit (max_order_qty 5) denied its 6-share order; main's default did not
    assert re.search(r"1 denied by risk", hedge), hedge[-2000:]
    assert " 0 denied by risk" in main
    journals = sorted(p.name for p in (tmp_path / "j").glob("*.twj"))
    assert len(journals) == 2, journals
    assert any("-hedge" in name for name in journals)


TICKER = '''
from tradewire import Strategy


class Ticks(Strategy):
    """Buys 1 share of its symbol every 0.3 s once it has a quote."""

    def on_start(self):
        self.call_every(0.3, self.tick)

    def tick(self):
        symbol = self.symbols[0]
        if self.mid(symbol) is not None:
            self.buy(symbol, 1)
'''


def test_a_kill_of_one_account_leaves_the_other_trading(tmp_path: Path, keyless_env: Any) -> None:
    import time
    import urllib.request

    (tmp_path / "ticks.py").write_text(TICKER)
    config = tmp_path / "kill.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            mode: sim
            accounts:
              main: {{key_env: MAIN_KEY, secret_env: MAIN_SECRET}}
              hedge: {{key_env: HEDGE_KEY, secret_env: HEDGE_SECRET}}
            simulator: {{symbols: [AAPL, MSFT], rate: 200, seed: 3}}
            journal: {{path: {tmp_path / "j"}, fsync: never}}
            metrics: {{enabled: false}}
            control: {{enabled: true, port: 0}}
            tuning: {{enabled: false}}
            run: {{panel: false, cancel_open_orders_on_stop: false}}
            strategies:
              - {{path: {tmp_path / "ticks.py"}:Ticks, name: m, symbols: [AAPL]}}
              - {{path: {tmp_path / "ticks.py"}:Ticks, name: h, account: hedge, symbols: [MSFT]}}
            """
        )
    )
    env = {**keyless_env, "TRADEWIRE_CONTROL_TOKEN": "t" * 40}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tradewire",
            "run",
            "--config",
            str(config),
            "--duration",
            "7",
            "--no-panel",
            "--control-port",
            "0",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    url = None
    deadline = time.monotonic() + 60
    lines: list[str] = []
    while url is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if found := re.search(r"kill switch (http://\S+/kill)", line):
            url = found.group(1)
    assert url is not None, "".join(lines)[-2000:]
    while time.monotonic() < deadline:  # the first account's status line: it trades
        line = proc.stdout.readline()
        lines.append(line)
        if (fills := re.search(r"fills=(\d+)", line)) and int(fills.group(1)) >= 3:
            break
    body = json.dumps({"reason": "test", "account": "hedge"}).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {env['TRADEWIRE_CONTROL_TOKEN']}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200
    out, _ = proc.communicate(timeout=60)
    text = "".join(lines) + out
    main, hedge = text.split("[account hedge]", 1)
    main_summary = main.rsplit("tradewire run summary", 1)[-1]
    main_fills = int(re.findall(r"([\d,]+) fills", main_summary)[-1].replace(",", ""))
    hedge_denied = re.search(r"(\d+) denied by risk", hedge)
    assert hedge_denied is not None
    assert int(hedge_denied.group(1)) >= 5, hedge[-1500:]  # hedge halted: its ticks denied
    assert main_fills >= 15, main[-1500:]  # main kept trading the whole run
    assert " 0 denied by risk" in main
