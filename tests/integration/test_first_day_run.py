"""``tradewire run`` as a first-day user reads it (issue 22): the strategy's own log lines
are shown by default (item 6), and the summary after a stop says what really happened
(item 9). Each test is one short run against the built-in simulator."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.one_loop, pytest.mark.timeout(90)]

ROOT = Path(__file__).parents[2]


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "c.yaml"
    config.write_text(
        f"mode: sim\njournal: {{path: {tmp_path}, fsync: never}}\nmetrics: {{enabled: false}}\n"
        "control: {enabled: false}\nrun: {panel: false}\ntuning: {enabled: false}\n"
        "simulator: {symbols: [AAPL, MSFT]}\n"
        f"strategies:\n  - path: {ROOT}/examples/mean_reversion.py:MeanReversion\n"
        "    name: mr_first_day\n    symbols: [AAPL, MSFT]\n"
    )
    return config


def test_a_strategys_own_log_lines_are_shown_by_default_and_engine_info_is_not(
    tmp_path, keyless_env
):
    # Act: the README's way, no --log-level
    done = subprocess.run(
        [
            *(sys.executable, "-m", "tradewire", "run", "--no-panel"),
            *("--config", str(_config(tmp_path)), "--duration", "2"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(keyless_env),
    )

    # Assert: the example's on_start line, as a plain line naming the strategy
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout + done.stderr
    assert re.search(r"^\S+ mr_first_day: started on AAPL,MSFT$", out, re.M), out[-3000:]
    assert not re.search(r"INFO tradewire\.(live|engine|venues|app)", out), out[-3000:]
    # issue 22, item 14: the example's fill lines read "buy 10 AAPL", not "buy 10.0 AAPL"
    fills = re.findall(r"mr_first_day: (?:buy|sell) (\S+) \w+ @ (\S+) \(position (\S+)\)", out)
    assert fills, out[-3000:]
    assert not [f for f in fills if any(".0" in n[-2:] or "000000" in n for n in f)], fills


async def test_a_run_stopped_by_ctrl_c_says_so_and_no_strategy_is_still_running(
    tmp_path, keyless_env
):
    # Arrange
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tradewire", "run", "--no-panel"),
        *("--config", str(_config(tmp_path)), "--duration", "60"),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=dict(keyless_env),
    )
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(30):
            while b"[sim ACTIVE]" not in await proc.stdout.readline():
                pass
        # Act
        proc.send_signal(signal.SIGINT)
        rest = (await asyncio.wait_for(proc.stdout.read(), 30)).decode()
        code = await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

    # Assert
    assert code == 0, rest
    summary = rest[rest.index("tradewire run summary") :]
    assert "stopped (Ctrl-C)" in summary, summary
    assert "end state: stopped cleanly" in summary, summary
    assert "strategy mr_first_day: stopped" in summary, summary
    assert "running" not in summary, summary
    assert "final state ACTIVE" not in summary, summary
    held = [q for q in re.findall(r"position \w+: (-?[\d,.]+) @", summary) if float(q) != 0]
    assert ("open positions left" in summary) == bool(held), summary
