"""The spec's client examples, as the README shows them, run verbatim against the simulator.

Each ``<!-- spec-example: NAME -->`` block in README.md is written to a file and run with
only the environment set (keys and endpoints of a ``tradewire sim`` process), as a user
who pastes it would.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import pytest

from tradewire.sim.process import SimProcess

# Every async test here drives child processes (the CLI, the simulator); its own event loop
# only waits on them, so it runs on one loop (conftest: one_loop).
pytestmark = pytest.mark.one_loop

ROOT = Path(__file__).parents[2]


def readme_example(name: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- spec-example: {name} -->\n```python\n(.*?)```", text, re.S)
    assert match, f"README.md has no spec example {name!r}"
    return match.group(1)


def environment(sim: SimProcess, keyless: dict[str, str]) -> dict[str, str]:
    env = dict(keyless)
    env.update(
        POLYGON_API_KEY="test-key",
        POLYGON_WS_URL=sim.feed_url,
        ALPACA_API_KEY="test-key",
        ALPACA_API_SECRET="test-secret",
        ALPACA_BASE_URL=sim.broker_url,
        PYTHONUNBUFFERED="1",
    )
    return env


async def start(program: str, tmp_path: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    path = tmp_path / "example.py"
    path.write_text(program)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(path),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_the_quotes_example_prints_quotes_until_interrupted(tmp_path, keyless_env):
    async with SimProcess(["--symbols", "AAPL,GOOGL", "--rate", "200"]) as sim:
        proc = await start(readme_example("quotes"), tmp_path, environment(sim, keyless_env))
        assert proc.stdout is not None
        try:
            async with asyncio.timeout(30):
                line = (await proc.stdout.readline()).decode()
        finally:
            proc.send_signal(signal.SIGINT)
            await asyncio.wait_for(proc.wait(), 10)
    assert re.match(r"Quote: (AAPL|GOOGL) @ \d+\.\d+", line), line


async def test_the_order_example_places_one_order_with_keys_from_the_environment(
    tmp_path, keyless_env
):
    async with SimProcess(["--symbols", "AAPL", "--rate", "200"]) as sim:
        proc = await start(readme_example("order"), tmp_path, environment(sim, keyless_env))
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert re.match(r"Order \S+: (new|accepted|pending_new|filled)", out.decode()), out.decode()


async def test_the_bare_spec_snippet_says_what_to_add(tmp_path, keyless_env):
    # The spec's own lines, run as a program: it returns after the ack and prints no quote.
    snippet = (
        "import asyncio\nfrom tradewire import PolygonClient\n\nasync def main():\n"
        "    client = PolygonClient()                       # keys from .env: POLYGON_API_KEY\n"
        "    async def on_quote(quote):\n"
        "        print(f'Quote: {quote.symbol} @ {quote.price}')\n"
        "    await client.subscribe_quotes(['AAPL', 'GOOGL'], on_quote)\n\n"
        "asyncio.run(main())\n"
    )
    async with SimProcess(["--symbols", "AAPL,GOOGL", "--rate", "200"]) as sim:
        env = environment(sim, keyless_env)
        del env["POLYGON_API_KEY"]
        (tmp_path / ".env").write_text("POLYGON_API_KEY=test-key\n")  # the key from ./.env
        proc = await start(snippet, tmp_path, env)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert "add `await client.run()`" in err.decode()
    assert "Traceback" not in err.decode()


async def test_a_program_that_ends_with_quotes_waiting_says_one_line_and_nothing_else(
    tmp_path, keyless_env
):
    # The bare snippet's race, made certain: quotes wait in the socket while the program
    # ends, so asyncio.run's shutdown reads them after it cancelled every task. Their async
    # handlers must not start then (before: a task created after the cancel, "Task was
    # destroyed but it is pending!", and one "never awaited" warning per quote).
    program = (
        "import asyncio, time\nfrom tradewire import PolygonClient\n\nasync def main():\n"
        "    client = PolygonClient()\n"
        "    async def on_quote(quote):\n"
        "        print(f'Quote: {quote.symbol} @ {quote.price}')\n"
        "    await client.subscribe_quotes(['AAPL', 'GOOGL'], on_quote)\n"
        "    time.sleep(0.3)\n\n"
        "asyncio.run(main())\n"
    )
    async with SimProcess(["--symbols", "AAPL,GOOGL", "--rate", "2000"]) as sim:
        proc = await start(program, tmp_path, environment(sim, keyless_env))
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    text = err.decode()
    assert proc.returncode == 0, text[-3000:]
    assert "add `await client.run()`" in text
    assert text.strip().count("\n") == 0, text[-3000:]  # the one line, and nothing else
