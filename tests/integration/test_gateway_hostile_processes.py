"""Finding 3 as processes: a local worker must not crash or freeze the gateway.

A real ``tradewire gateway`` (sim mode, shared memory only) serves one honest
``tradewire worker`` that trades, while hostile worker *processes* join its registry by hand
(the raw join of ``tests/unit/bus/conftest.py``) and lie in it:

1. ``shrink``: memfds it can still shrink (refused), and memfds sealed as the gateway asks
   that it then tries to shrink after the join (the kernel refuses: EPERM). Before the fix a
   shrunk ring killed the gateway with SIGBUS on its next write.
2. ``pipe``: wake-ups of its own making, a pipe among them, as workers once passed their
   eventfds (refused, one line: the gateway makes the wake-ups, so none can block it).
3. ``garbage``: joined honestly, then a record with a non-ASCII subject (skipped, counted)
   and a ring head of 2**62 (that worker cut off).

Afterwards the gateway process is alive, the honest worker's fills keep growing, the
gateway said a few lines about the hostile ones and no traceback, and Ctrl-C exits 0.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from pathlib import Path

import pytest
from tests.faults.test_chaos import _own_group_killed_with_parent
from tests.integration.test_gateway_processes import (
    ROOT,
    STRATEGIES,
    Proc,
    metric,
    metrics,
    read_json,
    wait_for,
)

pytestmark = [pytest.mark.timeout(90), pytest.mark.one_loop]

HOSTILE = '''
"""A hostile shared-memory worker: ``hostile.py MODE BUS NAME`` prints one JSON line."""
import asyncio, json, os, struct, sys
sys.path.insert(0, {root!r})
from tests.unit.bus.conftest import RawWorker

async def main(mode, bus, name):
    out = {{"mode": mode}}
    if mode == "shrink":
        # Unsealed: the gateway must refuse it; shrinking it afterwards then hurts no one.
        loose = await RawWorker.join(bus, name + "-loose", seal=False)
        out["loose_ack"] = loose.ack.decode()
        os.ftruncate(loose.fds[0], 0)
        os.ftruncate(loose.fds[2], 0)
        # Sealed (accepted): shrinking after the join is what the seals forbid.
        sealed = await RawWorker.join(bus, name)
        out["sealed_ack"] = sealed.ack.decode()
        try:
            os.ftruncate(sealed.fds[0], 0)
            out["shrunk_after_join"] = True
        except PermissionError:
            out["shrunk_after_join"] = False
        await asyncio.sleep(1.0)  # the gateway writes market data into it meanwhile
        loose.close()
        sealed.close()
    elif mode == "pipe":
        w = await RawWorker.join(bus, name, own_wakes="pipe")
        out["ack"] = w.ack.decode()
        w.close()
    elif mode == "garbage":
        w = await RawWorker.join(bus, name)
        out["ack"] = w.ack.decode()
        for _ in range(3):
            w.write_raw(struct.pack("<IH", 4, 11) + b"tw.intent.\\xff" + b"junk")
        await asyncio.sleep(0.3)
        w.set_head(1 << 62)
        # Cut off: the gateway closes our socket (EOF) within a few seconds.
        loop = asyncio.get_running_loop()
        try:
            got = await asyncio.wait_for(loop.sock_recv(w.sock, 16), 10)
            out["cut_off"] = got == b""
        except (TimeoutError, OSError) as exc:
            out["cut_off"] = type(exc).__name__
        w.close()
    print(json.dumps(out), flush=True)

asyncio.run(main(*sys.argv[1:]))
'''


async def spawn(*args: str, env: dict[str, str], cwd: Path) -> Proc:
    """``tradewire ARGS`` in a process group of its own, SIGKILLed if the test process dies
    (pytest-timeout's ``os._exit`` runs no finally)."""
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tradewire", *args),
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        preexec_fn=_own_group_killed_with_parent,
    )
    return Proc(proc)


async def start_worker(
    tmp_path: Path, env: dict[str, str], shm: str, name: str, **params: object
) -> tuple[Proc, Path]:
    out = tmp_path / f"{name}.json"
    worker = await spawn(
        *("worker", "--gateway", f"shm://{shm}", "--strategy", f"{STRATEGIES}:Steady"),
        *("--symbols", "AAPL", "--name", name),
        *("--params", json.dumps({"out": str(out), **params})),
        env=env,
        cwd=tmp_path,
    )
    await wait_for(lambda: worker.seen("connected") or worker.proc.returncode is not None, 40)
    assert worker.seen("connected"), worker.text
    return worker, out


async def hostile(script: Path, mode: str, shm: str, name: str) -> dict[str, object]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        mode,
        shm,
        name,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=_own_group_killed_with_parent,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, 9)
            await proc.wait()
    assert proc.returncode == 0, err.decode()[-2000:]
    return json.loads(out.decode().strip().splitlines()[-1])  # type: ignore[no-any-return]


async def test_hostile_local_workers_neither_crash_nor_freeze_the_gateway(tmp_path, keyless_env):
    env = dict(keyless_env)
    shm = f"twh{os.getpid()}x{int(time.monotonic() * 1000) % 100000}"
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "mode: sim\nmetrics: {enabled: true, port: 0}\ncontrol: {enabled: false}\n"
        "run: {panel: false}\ntuning: {enabled: false}\n"
        f"journal: {{path: {tmp_path / 'journal'}, fsync: never}}\n"
        "simulator: {symbols: [AAPL, MSFT], rate: 400}\n"
        "risk: {price_band_pct: 50, max_orders_per_second: 1000}\n"
        f"gateway: {{shm: {shm}, worker_timeout_s: 1.5, buffer: 64}}\n"
    )
    script = tmp_path / "hostile.py"
    script.write_text(HOSTILE.format(root=str(ROOT)))
    gateway = await spawn(
        *("gateway", "--no-panel", "--config", str(config), "--duration", "120"),
        *("--metrics-port", "0"),
        env=env,
        cwd=tmp_path,
    )
    honest: Proc | None = None
    try:
        # Bounded below pytest's timeout, so the finally below always runs
        async with asyncio.timeout(60):
            await wait_for(lambda: gateway.seen("serving workers"), 60, "gateway:\n" + gateway.text)
            await wait_for(lambda: gateway.seen(r"metrics (http://\S+/metrics)"), 30, "banner")
            honest, out = await start_worker(tmp_path, env, shm, "honest", every=10)
            await wait_for(lambda: read_json(out).get("fills", 0) >= 3, 60, "the honest one trades")

            # Act: three hostile processes, one after the other, while the honest one trades
            shrink = await hostile(script, "shrink", shm, "evil1")
            pipe = await hostile(script, "pipe", shm, "evil2")
            garbage = await hostile(script, "garbage", shm, "evil3")

            # Assert: each was refused or cut off, as the gateway now does
            assert shrink == {
                "mode": "shrink",
                "loose_ack": "",  # refused: its ring could shrink under the gateway
                "sealed_ack": "ok",
                "shrunk_after_join": False,  # the seals the gateway asked for hold
            }, shrink
            assert pipe == {"mode": "pipe", "ack": ""}, pipe
            assert garbage == {"mode": "garbage", "ack": "ok", "cut_off": True}, garbage

            # The gateway lives and serves: the honest worker's fills keep growing
            before = read_json(out)["fills"]
            await wait_for(
                lambda: read_json(out).get("fills", 0) >= before + 5, 30, "fills after the hostiles"
            )
            assert gateway.proc.returncode is None, gateway.text[-3000:]
            text = metrics(gateway)
            assert metric(text, "tradewire_worker_up", "honest") == 1
            for evil in ("evil1", "evil1-loose", "evil2", "evil3"):
                assert metric(text, "tradewire_worker_up", evil) in (-1.0, 0.0), evil

            assert await honest.stop() == 0, honest.text[-3000:]
            honest = None
            assert await gateway.stop() == 0, gateway.text[-3000:]
    finally:
        if honest is not None:
            await honest.stop(timeout_s=5)
        await gateway.stop(timeout_s=10)

    # A line for each hostile act (the refusals name no worker: it never got to be one),
    # nothing else above INFO but the honest worker's goodbye, and no traceback
    assert "Traceback" not in gateway.text, gateway.text[-3000:]
    said = [
        line
        for line in gateway.lines
        if re.search(r" (WARNING|ERROR|CRITICAL) ", line)
        and "worker honest said goodbye" not in line
    ]
    assert len(said) == 4, said
    assert "lacks F_SEAL_SHRINK" in said[0], said
    assert "with 4 descriptors" in said[1], said  # its own wake-ups: refused
    assert "worker evil3: skipped an unreadable record" in said[2], said
    assert "worker evil3 cut off" in said[3], said
