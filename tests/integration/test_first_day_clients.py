"""The README's client snippets as a new user runs them: pasted, against `tradewire sim`,
and against nothing at all (the simulator not started, or on other ports).

The snippets are read from README.md and run as programs; the environment comes from the
lines `tradewire sim` prints, run by a shell exactly as they would be pasted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from tradewire.sim.process import SimProcess

pytestmark = pytest.mark.one_loop

ROOT = Path(__file__).parents[2]


def readme_example(name: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- spec-example: {name} -->\n```python\n(.*?)```", text, re.S)
    assert match, f"README.md has no spec example {name!r}"
    return match.group(1)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def spawn(args: list[str], env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *args,
        cwd=cwd,
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )


def snippet(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(readme_example(name), encoding="utf-8")
    return path


async def test_tradewire_sim_prints_export_lines_that_make_the_order_snippet_work(
    tmp_path, keyless_env
):
    sim = await spawn(
        [sys.executable, "-m", "tradewire", "sim", "--symbols", "AAPL"], keyless_env, tmp_path
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
        # Pasted into a shell, then the README's snippet.
        script = "\n".join([*exports, f"exec {sys.executable} {snippet(tmp_path, 'order')}"])
        user = await spawn(["bash", "-c", script], keyless_env, tmp_path)
        out, err = await asyncio.wait_for(user.communicate(), 30)
    finally:
        sim.send_signal(signal.SIGINT)
        await asyncio.wait_for(sim.wait(), 15)
    assert user.returncode == 0, err.decode()
    assert re.match(r"Order \S+: (new|accepted|pending_new|filled)", out.decode()), out.decode()


async def test_the_order_snippet_without_a_broker_ends_in_one_clear_line(tmp_path, keyless_env):
    url = f"http://127.0.0.1:{closed_port()}"
    env = {
        **keyless_env,
        "ALPACA_API_KEY": "test-key",
        "ALPACA_API_SECRET": "test-secret",
        "ALPACA_BASE_URL": url,
    }
    user = await spawn([sys.executable, str(snippet(tmp_path, "order"))], env, tmp_path)
    _, err = await asyncio.wait_for(user.communicate(), 30)
    text = err.decode()
    assert user.returncode != 0
    last = text.strip().splitlines()[-1]
    assert f"cannot connect to {url}" in last, text
    assert "refused" in last
    assert text.count("Traceback") == 1, text  # the user's own, not a chain of ours


async def test_the_quotes_snippet_without_a_feed_says_so_at_once_and_then_quietly(
    tmp_path, keyless_env
):
    url = f"ws://127.0.0.1:{closed_port()}/stocks"
    env = {**keyless_env, "POLYGON_API_KEY": "test-key", "POLYGON_WS_URL": url}
    user = await spawn([sys.executable, str(snippet(tmp_path, "quotes"))], env, tmp_path)
    assert user.stderr is not None
    lines: list[str] = []
    try:
        started = time.monotonic()
        async with asyncio.timeout(5):  # the first refusal is said within seconds
            while not any(url in line for line in lines):
                lines.append((await user.stderr.readline()).decode())
        first_after = time.monotonic() - started
        # Then it keeps retrying without a line per attempt (~8 attempts in these 8 s).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(8):
                while line := (await user.stderr.readline()).decode():
                    lines.append(line)
        assert user.returncode is None, "the snippet ended"
    finally:
        os.killpg(user.pid, signal.SIGKILL)
        await user.wait()
    assert first_after < 5
    assert "refused" in lines[0]
    assert sum(url in line for line in lines) <= 2, "".join(lines)


async def test_the_quotes_snippet_stops_on_ctrl_c_without_a_traceback(tmp_path, keyless_env):
    # "Quotes, printed until Ctrl-C": the README's own words, so Ctrl-C is the normal end.
    async with SimProcess(["--symbols", "AAPL,GOOGL", "--rate", "200"]) as sim:
        env = {
            **keyless_env,
            "POLYGON_API_KEY": "test-key",
            "POLYGON_WS_URL": sim.feed_url,
        }
        user = await spawn([sys.executable, str(snippet(tmp_path, "quotes"))], env, tmp_path)
        assert user.stdout is not None
        try:
            async with asyncio.timeout(30):
                first = (await user.stdout.readline()).decode()
            user.send_signal(signal.SIGINT)
            _, err = await asyncio.wait_for(user.communicate(), 15)
        finally:
            if user.returncode is None:
                os.killpg(user.pid, signal.SIGKILL)
                await user.wait()
    assert first.startswith("Quote: "), first
    assert "Traceback" not in err.decode(), err.decode()
    assert user.returncode == 0, err.decode()
