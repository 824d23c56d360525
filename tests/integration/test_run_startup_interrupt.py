"""Ctrl-C while ``tradewire run`` is still starting: one line that says so, exit 130."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.one_loop

ROOT = Path(__file__).parents[2]


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def is_simulator(pid: int) -> bool:
    try:
        return b"sim" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False


async def test_ctrl_c_while_the_simulator_starts_says_start_up_was_interrupted(
    tmp_path, keyless_env, until
):
    run = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tradewire",
        "run",
        "--config",
        str(ROOT / "config" / "trading_apis.yaml"),
        "--no-panel",
        "--duration",
        "30",
        "--journal",
        str(tmp_path / "journal.twj"),
        cwd=tmp_path,
        env=keyless_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        # The engine has spawned its simulator and waits for its ready line: start-up.
        await until(lambda: any(is_simulator(c) for c in children(run.pid)), timeout_s=30)
        sims = [c for c in children(run.pid) if is_simulator(c)]
        run.send_signal(signal.SIGINT)  # the terminal's Ctrl-C, to the engine alone
        out, err = await asyncio.wait_for(run.communicate(), 30)
    finally:
        if run.returncode is None:
            os.killpg(run.pid, signal.SIGKILL)
            await run.wait()
    text = err.decode()
    assert run.returncode == 130, text
    assert "Traceback" not in text, text
    assert "start-up" in text, text
    assert "ready" not in out.decode()  # nothing traded: no tuning report, no summary
    await until(lambda: not any(Path(f"/proc/{p}").exists() for p in sims), timeout_s=15)
