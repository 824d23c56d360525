"""The tick-to-trade floors (bench/contenders/floor.c and floor_py.py) against a real simulator.

Each floor answers every trigger with exactly one matched order, in both waiting modes, and
stops cleanly on SIGINT. The simulator is started as the bench starts it (SimProcess with
--triggers), with a small load so the test stays short; it does not busy-poll here, this
test is about answers, not latency.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tradewire.bench import contender
from tradewire.bench.tick_to_trade import _get_triggers, analyse
from tradewire.sim.process import SimProcess
from tradewire.sim.sources import symbols_for

pytestmark = [pytest.mark.timeout(90), pytest.mark.one_loop]

FLOOR_C = contender("floor.c")
TRIGGERS = 50
TRIGGER_RATE = 100.0
SYMBOLS = 20


@pytest.fixture(scope="module")
def floor_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler (cc, gcc or clang) on PATH to build bench/contenders/floor.c")
    out = tmp_path_factory.mktemp("floor") / "floor"
    done = subprocess.run(
        [cc, "-O2", "-Wall", "-Wextra", "-o", str(out), str(FLOOR_C)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", f"floor.c compiles with warnings:\n{done.stderr}"
    return out


def _command(binary: Path | None, sim: SimProcess) -> list[str]:
    host = sim.feed_url.split("//", 1)[1].split("/", 1)[0]
    symbols = ",".join(symbols_for(str(SYMBOLS)))
    if binary is not None:
        return [str(binary), host, sim.broker_url.split("//", 1)[1], symbols]
    return [sys.executable, str(contender("floor_py.py")), host, sim.broker_url, symbols]


async def _triggers_when(sim: SimProcess, ok: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    # The trigger log is the simulator's; poll it off the loop until the condition holds
    # (the test's timeout bounds the wait).
    while True:
        log = await asyncio.to_thread(_get_triggers, sim.broker_url)
        if ok(log):
            return log
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("busy", [False, True], ids=["blocking", "busy-poll"])
@pytest.mark.parametrize("kind", ["c", "py"])
async def test_floor_answers_every_trigger_with_one_order(
    kind: str, busy: bool, request: pytest.FixtureRequest, keyless_env: dict[str, str]
) -> None:
    # Arrange: the C compiler is only needed (and a skip only possible) for the C floor.
    binary: Path | None = request.getfixturevalue("floor_binary") if kind == "c" else None
    sim_args = [
        "--symbols",
        str(SYMBOLS),
        "--rate",
        "2000",
        "--seed",
        "7",
        "--triggers",
        str(TRIGGERS),
        "--trigger-rate",
        str(TRIGGER_RATE),
        "--trigger-warmup",
        "0.3",
    ]
    async with SimProcess(sim_args) as sim:
        cmd = _command(binary, sim) + (["--busy-poll"] if busy else [])
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
            env=keyless_env,
        )
        try:
            assert proc.stdout is not None
            async with asyncio.timeout(20):
                ready = await proc.stdout.readline()
            if ready != b"floor ready\n":  # it ended: say why
                assert proc.stderr is not None
                raise AssertionError((await proc.stderr.read()).decode()[-3000:])

            # Act: the simulator sends the triggers on its own schedule once subscribed.
            log = await _triggers_when(
                sim, lambda lg: lg["done"] and len(lg["arrivals"]) >= TRIGGERS
            )
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)
            async with asyncio.timeout(10):
                _, err = await proc.communicate()
        log = await asyncio.to_thread(_get_triggers, sim.broker_url)

    # Assert
    figures, _ = analyse(log)
    assert figures["triggers_delivered"] == TRIGGERS
    assert figures["missed_triggers"] == 0
    assert figures["orders_matched"] == TRIGGERS
    assert figures["duplicate_orders"] == 0
    assert figures["unmatched_orders"] == 0
    lat = figures["latency"]
    assert lat["samples"] == TRIGGERS
    assert 0 < lat["p50_us"] <= lat["max_us"]
    arrivals = dict(log["arrivals"])
    assert all(arrivals[k] > written for k, _due, written, _frames in log["sent"])
    assert proc.returncode == 0, err.decode(errors="replace")
    text = err.decode(errors="replace")
    assert f"triggers {TRIGGERS}," in text
    assert f"responses ok {TRIGGERS}, not ok 0" in text
