"""``tradewire run`` started from any folder, and stopped by Ctrl-C as a terminal sends it.

Paths in a config (journal folder, strategy files, ``.env``, the kill token) belong to the
project the config lives in, never to the folder the user happens to be in; and a terminal's
Ctrl-C goes to every process of the foreground group, so the children must not act on it.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]

# Its async test drives child processes only: one event loop is enough (conftest: one_loop).
pytestmark = [pytest.mark.timeout(120), pytest.mark.one_loop]


def _quiet_config(extra: str = "") -> str:
    return (
        "mode: sim\nmetrics: {enabled: false}\ncontrol: {enabled: false}\n"
        "run: {panel: false}\ntuning: {enabled: false}\n"
        "simulator: {symbols: [AAPL], rate: 500}\n" + extra
    )


def test_run_sh_from_another_folder_trades_the_projects_config(tmp_path, keyless_env):
    # Before: "no strategies configured" (config/trading_apis.yaml looked up in /tmp).
    done = subprocess.run(
        [
            "bash",
            str(ROOT / "run.sh"),
            "--no-panel",
            "--duration",
            "3",
            "--journal",
            str(tmp_path / "j.twj"),
            "--metrics-port",
            "0",
            "--control-port",
            "0",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
        env=dict(keyless_env),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "tradewire run summary" in done.stdout
    assert re.search(r"orders: [1-9][\d,]* sent", done.stdout), done.stdout


def test_run_without_a_config_anywhere_is_an_error_not_an_empty_config(tmp_path, keyless_env):
    done = subprocess.run(
        [sys.executable, "-m", "tradewire", "run", "--no-panel", "--duration", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(keyless_env),
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "no config" in done.stderr
    assert "--config" in done.stderr
    assert "TRADEWIRE_CONFIG" in done.stderr


def test_relative_paths_in_a_config_resolve_against_its_project(tmp_path, keyless_env):
    # A project folder with config/, strategies/ and the journal folder inside it.
    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    (project / "strategies").mkdir()
    (project / "strategies" / "mine.py").write_text(
        (ROOT / "examples" / "mean_reversion.py").read_text()
    )
    config = project / "config" / "trading.yaml"
    config.write_text(
        _quiet_config(
            "journal: {path: var/journals, fsync: never}\n"
            "strategies:\n  - path: strategies/mine.py:MeanReversion\n    symbols: [AAPL]\n"
        )
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(keyless_env, TRADEWIRE_CONFIG=str(config))

    done = subprocess.run(
        [sys.executable, "-m", "tradewire", "run", "--no-panel", "--duration", "2"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert list((project / "var" / "journals").glob("sim-*.twj"))
    assert list(elsewhere.iterdir()) == []


async def test_ctrl_c_to_the_whole_process_group_stops_cleanly(tmp_path, keyless_env):
    # A terminal's Ctrl-C signals every process in the foreground group: the engine, its
    # simulator and its journal syncer. Only the engine may act on it.
    config = tmp_path / "c.yaml"
    config.write_text(
        _quiet_config(
            f"journal: {{path: {tmp_path}, fsync: batch}}\n"
            f"strategies:\n  - path: {ROOT}/examples/mean_reversion.py:MeanReversion\n"
            "    symbols: [AAPL]\n    params: {ema_ticks: 5, entry_bps: 0.5}\n"
        )
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tradewire",
        "run",
        "--no-panel",
        "--config",
        str(config),
        "--duration",
        "60",
        "--log-level",
        "INFO",
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=dict(keyless_env),
        start_new_session=True,  # its own group, as a shell gives a foreground job
    )
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(60):
            while True:
                line = (await proc.stdout.readline()).decode()
                assert line, "".join(seen)
                seen.append(line)
                if re.search(r"sent=[1-9]", line):
                    break
        os.killpg(proc.pid, signal.SIGINT)
        rest = (await asyncio.wait_for(proc.stdout.read(), 40)).decode()
        code = await proc.wait()
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()

    out = "".join(seen) + rest
    assert code == 0, out[-3000:]
    assert "tradewire run summary" in rest
    assert "Traceback" not in out
    assert "KeyboardInterrupt" not in out
    assert "journal syncer ended without its count" not in out
    assert "Bad file descriptor" not in out
    # The simulator did not drop the trade stream under the engine before it stopped.
    assert not re.search(r"WARNING .*(reconnect|closed|lost)", rest), rest[-3000:]
