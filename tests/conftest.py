"""Shared fixtures: fixture files, the asyncio/uvloop loop matrix, condition waits, a held
WebSocket handshake, and Debian's Prometheus tools."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import uvloop

FIXTURES = Path(__file__).parent / "fixtures"


class FixtureLoader:
    """``fixture_bytes("polygon/ws_quote.json")`` → the file's bytes, stripped."""

    def __call__(self, name: str) -> bytes:
        return (FIXTURES / name).read_bytes().strip()


@pytest.fixture
def fixture_bytes() -> FixtureLoader:
    return FixtureLoader()


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, object]:
    # Every async test runs on both loops: uvloop in production, asyncio as the reference.
    # A test that only drives other processes (marked one_loop) gains nothing from the second.
    if item.get_closest_marker("one_loop") is not None:
        return {"uvloop": uvloop.new_event_loop}
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest.fixture(autouse=True)
def _quiet_picows(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="picows")


async def wait_until(
    predicate: Callable[[], object], timeout_s: float = 5.0, interval_s: float = 0.005
) -> None:
    """Poll a condition; fail with a clear message instead of sleeping a fixed time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s: {predicate}")
        await asyncio.sleep(interval_s)


@pytest.fixture
def until() -> Callable[..., object]:
    return wait_until


@pytest.fixture
def hold_ws_connect(
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[ModuleType], tuple[asyncio.Event, asyncio.Event]]:
    """``in_handshake, release = hold_ws_connect(module)``: the module's real ``ws_connect``
    runs only after ``release`` is set, so a test can make a race with the handshake certain."""

    def hold(module: ModuleType) -> tuple[asyncio.Event, asyncio.Event]:
        real_connect = module.ws_connect
        in_handshake, release = asyncio.Event(), asyncio.Event()

        async def held_connect(*args: Any, **kwargs: Any) -> Any:
            in_handshake.set()
            await release.wait()
            return await real_connect(*args, **kwargs)

        monkeypatch.setattr(module, "ws_connect", held_connect)
        return in_handshake, release

    return hold


# -- Debian's Prometheus (test.sh installs it via scripts/ensure-prometheus.sh) ---------------


def debian_tool(name: str) -> str:
    """The binary's path; skipped locally when missing, a failure under CI (never a silent pass)."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(
                f"{name} is not installed in CI: scripts/ensure-prometheus.sh should have run"
            )
        pytest.skip(f"Debian's {name} is not installed (./test.sh installs it when run as root)")
    return path


def wait_for(fn: Callable[[], Any], timeout_s: float = 30.0, interval_s: float = 0.2) -> Any:
    """Poll ``fn`` from a synchronous test until it returns something truthy (OSError = not yet)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = fn()
            if value:
                return value
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout_s}s: {fn}")
        time.sleep(interval_s)


@pytest.fixture
def promtool() -> str:
    return debian_tool("promtool")


@pytest.fixture
def poll() -> Callable[..., Any]:
    """The synchronous twin of ``until``, for tests that drive other processes."""
    return wait_for


class PrometheusServer:
    """A real ``prometheus`` on a loopback port, queried through its HTTP API."""

    def __init__(self, config_file: Path, data_dir: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [
                debian_tool("prometheus"),
                f"--config.file={config_file}",
                f"--storage.tsdb.path={data_dir}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=1h",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._ready)

    def _ready(self) -> bool:
        with urllib.request.urlopen(self.base + "/-/ready", timeout=2) as resp:
            return bool(resp.status == 200)  # 503 while starting raises HTTPError: not yet

    def get(self, path: str) -> Any:
        try:
            with urllib.request.urlopen(self.base + path, timeout=5) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:  # a bad query answers 400 with the reason
            body = exc.read()
        return json.loads(body)

    def query(self, expr: str) -> dict[str, Any]:
        """The whole answer: ``status``, ``data`` or ``error``."""
        answer: dict[str, Any] = self.get(
            "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        )
        return answer

    def result(self, expr: str) -> list[dict[str, Any]]:
        answer = self.query(expr)
        return answer["data"]["result"] if answer.get("status") == "success" else []

    def wait_result(self, expr: str, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """The first non-empty result (Prometheus has scraped and the series exist)."""
        found: list[dict[str, Any]] = wait_for(lambda: self.result(expr), timeout_s)
        return found

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[Path], PrometheusServer]]:
    """``prometheus(config_file)`` starts a server (ready when returned); stopped after the test."""
    servers: list[PrometheusServer] = []

    def start(config_file: Path) -> PrometheusServer:
        servers.append(PrometheusServer(config_file, tmp_path / f"prometheus-data-{len(servers)}"))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@contextlib.asynccontextmanager
async def silent_websocket(path: str) -> AsyncIterator[tuple[str, list[int]]]:
    """A WebSocket server on 127.0.0.1:0 that accepts and never says a word: yields its URL
    and a list that grows by one per connection (a feed that never sends ``connected``, a
    trade stream that never answers ``authenticate``)."""
    from aiohttp import web

    connections: list[int] = []

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        connections.append(1)
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get(path, handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"ws://127.0.0.1:{port}{path}", connections
    finally:
        await runner.cleanup()


@pytest.fixture
def silent_ws() -> Callable[[str], Any]:
    """``async with silent_ws("/stream") as (url, connections)``: see :func:`silent_websocket`."""
    return silent_websocket


@pytest.fixture(scope="session")
def keyless_env() -> dict[str, str]:
    """This process's environment with every venue key and endpoint removed (Polygon,
    Massive, Alpaca and Alpaca's own APCA_ names), so a run falls back to the simulator
    whatever the developer has exported."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("POLYGON", "MASSIVE", "ALPACA", "APCA"))
    }


@pytest.fixture(params=["native", "python"])
def order_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test on the native order path and on its pure-Python twin (issue 26).

    ``tradewire.engine.native.NATIVE`` is what every user of the extension reads when it
    builds its engine; ``None`` is a process without it. Processes the test starts inherit
    ``TRADEWIRE_NATIVE=0`` for the Python case. Under CI the extension must have been built
    (the native case fails instead of skipping).
    """
    from tradewire.engine import native

    if request.param == "python":
        monkeypatch.setattr(native, "NATIVE", None)
        monkeypatch.setenv("TRADEWIRE_NATIVE", "0")  # and in every process the test starts
        return "python"
    monkeypatch.delenv("TRADEWIRE_NATIVE", raising=False)
    if native.NATIVE is None:
        if os.environ.get("CI"):
            pytest.fail(f"the native order path is not built: {native.notice()}")
        pytest.skip(native.notice())
    return str(request.param)
