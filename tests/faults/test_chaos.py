"""Chaos: the engine against the simulator under random faults, SIGKILLs and restarts.

For a bounded time (``TRADEWIRE_CHAOS_S``, 18 s by default; the seed is fixed, and
``TRADEWIRE_CHAOS_SEED`` changes it) a strategy trades marketable and resting orders while
the simulator's own control plane injects faults: trade_updates drops and blocks, 5xx,
429, latency, orders accepted then failed (504 or a dropped connection), stalls, and the
engine is SIGKILLed and restarted on the same journal. Then faults stop, the engine runs
once more and stops without cancelling, and its report is compared with the broker:
positions equal, open orders equal, no client_order_id twice, every broker order in the
journal. The test's timeout follows ``TRADEWIRE_CHAOS_S`` (a longer run is not cut at the
suite's 120 s), and no engine outlives the test, however it ends.

The same chaos runs a second time at Alpaca's real budget (issue 20): the simulator allows
200 requests a minute, the engine is a gateway whose client is told so too, and a worker
process floods it with resting orders and cancels (far more than 200 a minute), through
every SIGKILL of the gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tradewire.bus.shm_registry import SHM_ROOT
from tradewire.engine.journal.replay import replay
from tradewire.engine.journal.store import read_journal
from tradewire.sim.process import SimProcess

AUTH = {"APCA-API-KEY-ID": "test-key", "APCA-API-SECRET-KEY": "test-secret"}
CHAOS_S = float(os.environ.get("TRADEWIRE_CHAOS_S", "18"))
SEED = int(os.environ.get("TRADEWIRE_CHAOS_SEED", "20261125"))
# After the chaos: the last engine's SIGKILL (30 s at most), act 2's run (90 s at most) and
# the broker's state. The test ends itself (teardown runs) at CHAOS_S + MARGIN_S; pytest's
# timeout, 30 s later, is the backstop that ends the process without any teardown.
MARGIN_S = 120.0

CONFIG = """
mode: sim
broker: {request_timeout_s: 1.0, resolve_backoff_s: 0.1, resolve_attempts: 4}
risk: {max_orders_per_second: 50, max_open_orders: 60, max_position_qty: 100000,
       max_gross_exposure: 100000000, max_order_notional: 1000000, price_band_pct: 25,
       max_rejects_in_window: 100000}
journal: {fsync: never, abandon_intents_older_than_s: 5}
metrics: {enabled: false}
control: {enabled: false}
run: {panel: false, cancel_open_orders_on_stop: false, reconcile_interval_s: 1.0,
      reconcile_timeout_s: 5, finish_timeout_s: 5}
tuning: {enabled: false}
strategies:
  - path: {strategy}:Chaos
    symbols: [AAPL, MSFT]
"""
# The flood run: Alpaca's 200/min in the client (the simulator enforces it too), a gateway.
FLOOD_CONFIG = (
    CONFIG.replace("resolve_attempts: 4}", "resolve_attempts: 4, rate_limit_per_minute: 200}")
    + "gateway: {shm: {shm}, worker_timeout_s: 2}\n"
)

FLOOD = '''
from tradewire import Strategy

class Flood(Strategy):
    """A resting 1-share bid 5% under the market on every quote, and the oldest cancelled
    once 20 rest: far more requests than the broker's 200 a minute."""
    def on_quote(self, quote):
        if quote.bid_price <= 0:
            return
        mine = self.open_orders()
        if len(mine) >= 20:
            self.cancel(mine[0].client_order_id)
        self.buy(quote.symbol, 1, limit_price=round(quote.bid_price * 0.95, 2))
'''

STRATEGY = '''
import random
from tradewire import Strategy

class Chaos(Strategy):
    """Marketable orders that fill, resting orders 10% away that never do, and cancels."""
    def on_start(self):
        self.rng = random.Random()
    def on_quote(self, quote):
        if quote.bid_price <= 0 or self.rng.random() > 0.05:
            return
        roll = self.rng.random()
        side = "buy" if self.rng.random() < 0.5 else "sell"
        if roll < 0.4:
            price = quote.ask_price + 0.05 if side == "buy" else quote.bid_price - 0.05
            self.submit_order(quote.symbol, side, 1, round(price, 2))
        elif roll < 0.8:
            price = quote.bid_price * 0.9 if side == "buy" else quote.ask_price * 1.1
            self.submit_order(quote.symbol, side, 1, round(price, 2))
        else:
            mine = self.open_orders()
            if mine:
                self.cancel(self.rng.choice(mine).client_order_id)
    def submit_order(self, symbol, side, qty, price):
        (self.buy if side == "buy" else self.sell)(symbol, qty, limit_price=price)
'''


def sim_request(base: str, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    headers = dict(AUTH, **({"Content-Type": "application/json"} if data else {}))
    req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read()
    return json.loads(text) if text else None


def broker_state(base: str) -> tuple[dict[str, float], set[str], list[str]]:
    positions = {
        p["symbol"]: float(p["qty"])
        for p in sim_request(base, "GET", "/v2/positions")
        if float(p["qty"])
    }
    open_ids = {
        o["client_order_id"] for o in sim_request(base, "GET", "/v2/orders?status=open&limit=500")
    }
    every: list[str] = []
    until = None
    while True:  # page through every order, newest first
        page = sim_request(
            base,
            "GET",
            "/v2/orders?status=all&limit=500&direction=desc" + (f"&until={until}" if until else ""),
        )
        every.extend(o["client_order_id"] for o in page)
        if len(page) < 500:
            return positions, open_ids, every
        until = page[-1]["submitted_at"]


FAULTS = [
    (
        "stream drop",
        lambda r: ("/_sim/stream", {"drop": True, "block_s": round(r.uniform(0.5, 3), 2)}),
    ),
    ("5xx burst", lambda r: ("/_sim/faults", {"error_5xx_rate": round(r.uniform(0.2, 0.8), 2)})),
    (
        "429",
        lambda r: ("/_sim/faults", {"reject_next_with": [429, 42910000, "rate limit exceeded"]}),
    ),
    ("latency", lambda r: ("/_sim/faults", {"latency_s": round(r.uniform(0.01, 0.2), 3)})),
    (
        "accept then 504",
        lambda r: (
            "/_sim/faults",
            {"accept_then_fail_next": r.randint(1, 3), "accept_then_fail_mode": "504"},
        ),
    ),
    (
        "accept then drop",
        lambda r: (
            "/_sim/faults",
            {"accept_then_fail_next": r.randint(1, 3), "accept_then_fail_mode": "drop"},
        ),
    ),
    ("stall", lambda r: ("/_sim/faults", {"stall_next_requests": 1})),
]
CLEAR = {
    "error_5xx_rate": 0,
    "latency_s": 0,
    "accept_then_fail_next": 0,
    "stall_next_requests": 0,
    "reject_next_with": None,
}


def _own_group_killed_with_parent() -> None:
    """In the engine child, before exec: a process group of its own, killed whole at
    teardown, and SIGKILL when the test process dies (``PR_SET_PDEATHSIG``). pytest-timeout
    ends an overrun test with ``os._exit``: no finally runs then, and an engine started with
    ``--duration 3600`` went on trading against nothing."""
    os.setpgid(0, 0)
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # 1: PR_SET_PDEATHSIG


def _kill_groups(engines: list[Any]) -> None:
    for engine in engines:
        if engine.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(engine.pid, signal.SIGKILL)


async def start_engine(
    tmp_path: Path,
    sim: SimProcess,
    duration_s: float,
    report: Path,
    engines: list[Any],
    command: str = "run",
) -> Any:
    err = (tmp_path / f"engine-{len(engines)}.err").open("wb")  # the child keeps its own copy
    with err:
        engine = await _spawn_engine(tmp_path, sim, duration_s, report, command, err)
    engines.append(engine)
    return engine


async def _spawn_engine(
    tmp_path: Path, sim: SimProcess, duration_s: float, report: Path, command: str, err: Any
) -> Any:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tradewire.app.cli",
        command,
        "--config",
        str(tmp_path / "c.yaml"),
        "--journal",
        str(tmp_path / "journal.twj"),
        "--sim-feed-url",
        sim.feed_url,
        "--sim-broker-url",
        sim.broker_url,
        "--no-panel",
        "--duration",
        str(duration_s),
        "--report-json",
        str(report),
        # A file, not a pipe nobody reads while it runs: a chatty engine (every 429 is a
        # line) would block on a full pipe and stop trading.
        stdout=asyncio.subprocess.DEVNULL,
        stderr=err,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        preexec_fn=_own_group_killed_with_parent,
    )


def stderr_of(tmp_path: Path, engines: list[Any]) -> str:
    """The last engine's stderr (its tail): what a failed assertion shows."""
    return (tmp_path / f"engine-{len(engines) - 1}.err").read_text(errors="replace")[-3000:]


async def start_worker(tmp_path: Path, shm: str, engines: list[Any]) -> Any:
    """The flooding worker, for the whole chaos: it rejoins every restarted gateway."""
    (tmp_path / "flood.py").write_text(FLOOD)
    with (tmp_path / "worker.out").open("wb") as out:
        worker = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "tradewire.app.cli", "worker", "--gateway", f"shm://{shm}"),
            *("--strategy", f"{tmp_path / 'flood.py'}:Flood", "--symbols", "AAPL"),
            *("--name", "flood"),
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            preexec_fn=_own_group_killed_with_parent,
        )
    engines.append(worker)  # killed with the engines, however the test ends
    return worker


@pytest.mark.timeout(CHAOS_S + MARGIN_S + 30)
def test_engine_converges_to_the_broker_after_random_faults_and_crashes(tmp_path, order_path):
    # One event loop is enough: it only drives processes (the engine runs on uvloop).
    # Both order paths (issue 26); the pure-Python one for two thirds of the time (the suite's
    # budget; at half of 18 s the fixed seed's engine lives allowed only one SIGKILL).
    seconds = CHAOS_S if order_path == "native" else CHAOS_S * 2 / 3
    asyncio.run(_bounded_chaos(tmp_path, flood=False, seconds=seconds))


@pytest.mark.timeout(CHAOS_S + MARGIN_S + 30)
def test_a_gateway_at_200_per_minute_flooded_by_a_worker_converges_after_chaos(tmp_path):
    asyncio.run(_bounded_chaos(tmp_path, flood=True, seconds=CHAOS_S))


async def _bounded_chaos(tmp_path: Path, *, flood: bool, seconds: float) -> None:
    """The chaos for ``seconds``, within ``seconds + MARGIN_S``; every engine's process group
    killed however it ends (a failed assertion, the bound, Ctrl-C)."""
    engines: list[Any] = []
    try:
        async with asyncio.timeout(seconds + MARGIN_S):
            await _chaos(tmp_path, engines, flood=flood, seconds=seconds)
    finally:
        _kill_groups(engines)
        for engine in engines:
            await engine.wait()


async def _chaos(tmp_path: Path, engines: list[Any], *, flood: bool, seconds: float) -> None:
    # Arrange
    rng = random.Random(SEED)
    (tmp_path / "chaos.py").write_text(STRATEGY)
    shm = f"twchaos{os.getpid()}"
    config = (FLOOD_CONFIG if flood else CONFIG).replace("{shm}", shm)
    (tmp_path / "c.yaml").write_text(config.replace("{strategy}", str(tmp_path / "chaos.py")))
    command = "gateway" if flood else "run"
    sim_args = ["--symbols", "AAPL,MSFT", "--rate", "400", "--seed", str(SEED)]
    loop = asyncio.get_running_loop()
    worker = None
    async with SimProcess(sim_args + (["--rate-limit", "200"] if flood else [])) as sim:
        base = sim.broker_url
        kills = injected = 0
        deadline = loop.time() + seconds
        # Act 1: chaos, with the engine killed and restarted along the way
        while loop.time() < deadline:
            engine = await start_engine(
                tmp_path, sim, 3600, tmp_path / "ignored.json", engines, command
            )
            if flood and worker is None:
                await _until_serving(shm)
                worker = await start_worker(tmp_path, shm, engines)
            life_end = min(deadline, loop.time() + rng.uniform(4, 10))
            while loop.time() < life_end and engine.returncode is None:
                await asyncio.sleep(rng.uniform(0.2, 1.0))
                _, make = rng.choice(FAULTS)
                path, body = make(rng)
                await asyncio.to_thread(sim_request, base, "POST", path, body)
                injected += 1
                if rng.random() < 0.3:
                    await asyncio.sleep(rng.uniform(0.2, 1.0))
                    await asyncio.to_thread(sim_request, base, "POST", "/_sim/faults", CLEAR)
            assert engine.returncode is None, stderr_of(tmp_path, engines)
            engine.send_signal(signal.SIGKILL)
            await asyncio.wait_for(engine.wait(), 30)
            kills += 1
        if worker is not None:  # the flood ends; the last engine runs without it
            assert worker.returncode is None, (tmp_path / "worker.out").read_text()[-3000:]
            worker.send_signal(signal.SIGINT)
            await asyncio.wait_for(worker.wait(), 30)

        # Act 2: faults stop; the engine recovers, trades a little, stops without cancelling
        await asyncio.to_thread(sim_request, base, "POST", "/_sim/faults", CLEAR)
        await asyncio.to_thread(sim_request, base, "POST", "/_sim/stream", {"block_s": 0})
        report = tmp_path / "report.json"
        # 8 s when it must show native orders (recovery can take most of 5 s), else 5 s.
        native_run = not flood and os.environ.get("TRADEWIRE_NATIVE") != "0"
        engine = await start_engine(tmp_path, sim, 8 if native_run else 5, report, engines, command)
        await asyncio.wait_for(engine.wait(), 90)
        assert engine.returncode == 0, stderr_of(tmp_path, engines)
        # The engine is gone: the test reads the broker without its budget.
        await asyncio.to_thread(
            sim_request, base, "POST", "/_sim/faults", {"rate_limit_per_minute": 0}
        )
        positions, open_ids, every = await asyncio.to_thread(broker_state, base)

    # Assert
    final = json.loads(report.read_text())
    engine_positions = {s: p["qty"] for s, p in final["positions"].items()}
    journaled = set(replay(read_journal(tmp_path / "journal.twj").records).manager.orders)
    assert kills >= 2
    assert injected >= 10
    assert len(every) > 50, "the strategy should have traded"
    assert len(every) == len(set(every)), "a client_order_id reached the broker twice"
    assert set(every) <= journaled, "the broker holds an order the journal never saw"
    assert engine_positions == positions
    assert set(final["open_orders"]) == open_ids
    want = "python" if os.environ.get("TRADEWIRE_NATIVE") == "0" else "native"
    assert final["order_path"] == want  # the path the test asked for (issue 26)
    if native_run:  # the last engine's orders went the native way (sent, or denied by its
        # risk check: open orders left by earlier lives can hold it at max_open_orders)
        assert final["native_orders"] + final["native_denied"] > 0, final
    summary = f"{injected} faults, {kills} SIGKILLs, {len(every)} orders"
    print(f"chaos seed {SEED}: {summary}, corrections {final['reconcile_corrections']}")


async def _until_serving(shm: str) -> None:
    """The gateway's registry socket exists: a worker can join."""
    sock = SHM_ROOT / f"tradewire-{shm}" / "gateway.sock"
    await asyncio.to_thread(_wait_until, sock.exists, 60)


def _engines_under(folder: Path) -> list[int]:
    """Pids of live ``tradewire run`` processes whose command line names ``folder``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # gone meanwhile
            continue
        if state != "Z" and b"run" in argv and any(str(folder).encode() in a for a in argv):
            pids.append(int(entry.name))
    return pids


def _wait_until(condition: Any, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (found := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return found


def test_the_engine_dies_with_the_test_process_even_when_nothing_tears_down(tmp_path):
    # pytest-timeout (thread method) ends a test that outlives its timeout with os._exit: no
    # finally, no fixture teardown. TRADEWIRE_CHAOS_S=180 hit the 120 s timeout that way and
    # left its engine (--duration 3600) running. Here the test process is SIGKILLed while an
    # engine runs, the harshest way the same end comes, and the engine must go with it.
    inner = tmp_path / "inner"
    test = subprocess.Popen(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
            f"{__file__}::test_engine_converges_to_the_broker_after_random_faults_and_crashes",
            f"--basetemp={inner}",
        ],
        env=dict(os.environ, TRADEWIRE_CHAOS_S="600"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        engines = _wait_until(lambda: _engines_under(inner), 60)
        # Trading, not starting up (a start-up whose stderr closes may end by itself):
        # its orders are in the journal.
        _wait_until(lambda: any(p.stat().st_size > 4096 for p in inner.rglob("journal.twj")), 60)
        test.kill()  # the test process only: what the engine does next is its own
        test.wait(10)
        with contextlib.suppress(AssertionError):
            _wait_until(lambda: not _engines_under(inner), 20)
        left = _engines_under(inner)
    finally:
        if test.poll() is None:
            test.kill()
            test.wait(10)
        for pid in _engines_under(inner):  # an orphan from a red run: gone, whatever happens
            os.kill(pid, signal.SIGKILL)

    assert engines, "the chaos test never started an engine"
    assert left == [], f"engine processes outlived the test process: {left}"


def test_the_chaos_timeout_follows_TRADEWIRE_CHAOS_S():
    # 120 s (the suite's default) killed TRADEWIRE_CHAOS_S=180 mid-run.
    probe = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('chaos', {__file__!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "fn = mod.test_engine_converges_to_the_broker_after_random_faults_and_crashes\n"
        "marks = [m for m in getattr(fn, 'pytestmark', []) if m.name == 'timeout']\n"
        "print(marks[0].args[0] if marks else 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=dict(os.environ, TRADEWIRE_CHAOS_S="180"),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert float(done.stdout) >= 180 + 90  # the chaos, then act 2's run and the checks
