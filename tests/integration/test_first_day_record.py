"""The README's recording example, as a new user runs it: `tradewire sim` in one terminal,
its export lines pasted in another, then the README's own `tradewire record` line."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.one_loop

ROOT = Path(__file__).parents[2]


def readme_record_commands() -> tuple[str, str]:
    """The section's first bash block: the simulator's line and the record line."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Record, replay and backtest", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "no bash block in 'Record, replay and backtest'"
    lines = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    sim = next(line for line in lines if line.startswith("tradewire sim"))
    record = next(line for line in lines if line.startswith("tradewire record"))
    return sim, record


async def test_the_readme_records_the_simulator_and_shows_progress(tmp_path, keyless_env):
    sim_line, record_line = readme_record_commands()
    # The README's duration is a real one; progress is printed every 5 s, so 7 s show it.
    record_line = re.sub(r"--duration \S+", "--duration 7", record_line)
    assert "--duration 7" in record_line
    tradewire = f"{sys.executable} -m tradewire"
    sim = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        *shlex.split(sim_line),
        cwd=tmp_path,
        env=keyless_env,
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    assert sim.stdout is not None
    try:
        exports: list[str] = []
        async with asyncio.timeout(30):
            while len(exports) < 2:
                line = (await sim.stdout.readline()).decode()
                assert line, "tradewire sim ended before printing its export lines"
                if line.startswith("export "):
                    exports.append(line.strip())
        script = "\n".join([*exports, record_line.replace("tradewire", tradewire, 1)])
        user = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            script,
            cwd=tmp_path,
            env=keyless_env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out_b, err_b = await asyncio.wait_for(user.communicate(), 40)
    finally:
        os.killpg(sim.pid, signal.SIGINT)
        try:
            await asyncio.wait_for(sim.wait(), 15)
        finally:
            if sim.returncode is None:
                os.killpg(sim.pid, signal.SIGKILL)
    out, err = out_b.decode(), err_b.decode()
    assert user.returncode == 0, err
    assert "Traceback" not in err
    progress = [line for line in out.splitlines() if re.search(r"\d+ frames .* frames/s", line)]
    assert progress, out
    frames = re.search(r"tradewire record: (\d+) frames in \d+ segments", out)
    assert frames, out
    assert int(frames.group(1)) > 0
    assert (tmp_path / "data" / "rec-1" / "manifest.json").is_file()
