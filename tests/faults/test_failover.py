"""A failover group of gateways under real faults (issue 25): SIGKILL, SIGSTOP, a NATS
server outage, and a kill switch that must survive the takeover.

Real processes throughout: one ``tradewire sim`` (the venue both gateways trade), a real
nats-server with JetStream (lease and journal stream), two or three ``tradewire gateway``
processes of group ``g1`` and a ``tradewire worker`` trading through whichever is active.
What the broker received is read from the simulator's ``/_sim/requests`` log; what each
gateway believes from its ``/metrics`` and its ``--report-json``. Waits are on conditions,
each bounded. Helpers are copied from tests/integration/test_gateway_nats_lifecycle.py (a
test module stands alone).

``TRADEWIRE_FAILOVER_KILLS`` (default 3): how many SIGKILL takeovers the measurement test
makes; its p50/max are printed for docs/performance.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import statistics
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tradewire.bus.nats_server import NatsServer
from tradewire.engine.journal.replay import replay
from tradewire.engine.journal.store import read_journal
from tradewire.errors import TradewireError
from tradewire.sim.process import SimProcess

pytestmark = [pytest.mark.timeout(120), pytest.mark.one_loop]

LEASE_S = 1.0
GROUP = "g1"
AUTH = {"APCA-API-KEY-ID": "test-key", "APCA-API-SECRET-KEY": "test-secret"}
ACTIVE = re.compile(rf"gateway {GROUP}: active \(term (\d+)\)")
STANDBY = rf"gateway {GROUP}: standby"

# A strategy that trades on a timer, whether it runs in a worker or in the gateway: a
# marketable 1-share order (alternating buy and sell) twice in three ticks, a resting bid 3%
# under the market in the third (at most three resting: the oldest is cancelled); every fill
# it hears is logged with its client_order_id and the order's cumulative filled quantity.
TICKER = """
import json, os
from pathlib import Path
from tradewire import Strategy


class Ticker(Strategy):
    def on_start(self):
        self.out = Path(self.params["out"])
        self.pause = Path(self.params["pause"])
        self.seen = {"sent": [], "fills": [], "denied": []}
        self.n = 0
        self.resting = []
        self.call_every(float(self.params.get("every_s", 0.15)), self.tick)
        self.dump()

    def dump(self):
        tmp = self.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.seen))
        os.replace(tmp, self.out)

    def tick(self):
        if self.pause.exists():
            return
        sym = self.symbols[0]
        q = self.last_quote(sym)
        if q is None or q.bid_price <= 0 or q.ask_price <= 0:
            return
        self.n += 1
        if self.n % 3 == 0:
            order = self.buy(sym, 1, limit_price=round(q.bid_price * 0.97, 2))
            self.resting.append(order.client_order_id)
            if len(self.resting) > 3:
                self.cancel(self.resting.pop(0))
        else:
            side = "buy" if self.n % 2 else "sell"
            price = q.ask_price + 0.05 if side == "buy" else q.bid_price - 0.05
            order = self.submit(sym, side, 1, order_type="limit", limit_price=round(price, 2))
        if order.denied:
            self.seen["denied"].append(order.denied)
        else:
            self.seen["sent"].append(order.client_order_id)
        self.dump()

    def on_order_update(self, update):
        if update.event in ("fill", "partial_fill"):
            o = update.order
            self.seen["fills"].append([o.client_order_id, update.fill_qty, o.filled_qty])
        elif update.event == "denied":
            self.seen["denied"].append(update.order.denied)
        self.dump()
"""


async def wait_for(predicate: Callable[[], Any], timeout_s: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s}s: {what or predicate}")
        await asyncio.sleep(0.02)


async def wait_async(predicate: Callable[[], Any], timeout_s: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = await predicate()
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
    """A child process whose output is collected as it comes, each line's arrival timed."""

    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc = proc
        self.name = name
        self.lines: list[str] = []
        self.times: list[float] = []  # when each line arrived (monotonic)
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.lines.append(line.decode(errors="replace"))
            self.times.append(time.monotonic())

    def seen(self, pattern: str | re.Pattern[str], after: int = 0) -> re.Match[str] | None:
        for line in self.lines[after:]:
            match = re.search(pattern, line)
            if match:
                return match
        return None

    def when(self, pattern: str | re.Pattern[str], after: int = 0) -> float | None:
        for line, at in zip(self.lines[after:], self.times[after:], strict=False):
            if re.search(pattern, line):
                return at
        return None

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    @property
    def text(self) -> str:
        return "".join(self.lines[-80:])

    def send(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    async def stop(self, sig: int = signal.SIGINT, timeout_s: float = 20) -> int:
        if self.proc.returncode is None:
            self.send(signal.SIGCONT)  # a stopped process cannot handle SIGINT
            self.send(sig)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout_s)
            except TimeoutError:
                self.send(signal.SIGKILL)
                await self.proc.wait()
        await asyncio.gather(self._reader, return_exceptions=True)
        return self.proc.returncode or 0


async def spawn(name: str, *args: str, env: dict[str, str], cwd: Path) -> Proc:
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
    return Proc(proc, name)


class Member:
    """One gateway of the group: its process, its /metrics and its end report."""

    def __init__(self, proc: Proc, folder: Path, metrics: str) -> None:
        self.proc = proc
        self.folder = folder
        self.metrics = metrics

    @property
    def report(self) -> Path:
        return self.folder / "report.json"

    def terms(self, after: int = 0) -> list[tuple[int, float]]:
        """Each ``active (term N)`` line from ``after`` on, with its arrival time."""
        found = []
        for line, at in zip(self.proc.lines[after:], self.proc.times[after:], strict=False):
            match = ACTIVE.search(line)
            if match:
                found.append((int(match.group(1)), at))
        return found


class Group:
    """The sim, the nats-server, the gateways and the worker of one test."""

    def __init__(self, tmp: Path, env: dict[str, str], nats: NatsServer, sim: SimProcess) -> None:
        self.tmp = tmp
        self.env = env
        self.nats = nats
        self.sim = sim
        self.members: list[Member] = []
        self.workers: list[Proc] = []
        self.http = aiohttp.ClientSession(sim.broker_url, headers=AUTH)
        (tmp / "ticker.py").write_text(TICKER)
        self.pause = tmp / "pause"

    def config(self, folder: Path, inline: bool) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        strategy = (
            "strategies:\n"
            f"  - path: {self.tmp / 'ticker.py'}:Ticker\n"
            "    name: inline\n    symbols: [AAPL]\n"
            f"    params: {json.dumps({'out': str(folder / 'inline.json'), 'pause': str(self.pause)})}\n"
            if inline
            else ""
        )
        config = folder / "gateway.yaml"
        config.write_text(
            "mode: sim\nmetrics: {enabled: true, port: 0}\ncontrol: {enabled: false}\n"
            "run: {panel: false, cancel_open_orders_on_stop: false}\ntuning: {enabled: false}\n"
            f"journal: {{path: {folder / 'journal'}, fsync: never}}\n"
            "risk: {price_band_pct: 50, max_orders_per_second: 1000}\n"
            f"gateway: {{nats: {{url: '{self.nats.url}', allow_unauthenticated: true}}, "
            f"worker_timeout_s: 3, ha: {{group: {GROUP}, lease_s: {LEASE_S}}}}}\n" + strategy
        )
        return config

    async def start_member(self, inline: bool = False) -> Member:
        folder = self.tmp / f"g{len(self.members)}"
        config = self.config(folder, inline)
        proc = await spawn(
            f"g{len(self.members)}",
            "gateway",
            "--no-panel",
            "--config",
            str(config),
            "--sim-feed-url",
            self.sim.feed_url,
            "--sim-broker-url",
            self.sim.broker_url,
            "--report-json",
            str(folder / "report.json"),
            env=self.env,
            cwd=folder,
        )
        pattern = r"tradewire gateway: metrics (http://\S+/metrics)"
        await wait_for(lambda: proc.seen(pattern) or not proc.alive, 30, "metrics line")
        found = proc.seen(pattern)
        assert found, proc.text
        member = Member(proc, folder, found.group(1))
        self.members.append(member)
        return member

    async def start_worker(self, name: str = "w1") -> tuple[Proc, Path]:
        out = self.tmp / f"{name}.json"
        params = {"out": str(out), "pause": str(self.pause)}
        worker = await spawn(
            name,
            "worker",
            "--gateway",
            self.nats.url,
            "--strategy",
            f"{self.tmp / 'ticker.py'}:Ticker",
            "--symbols",
            "AAPL",
            "--params",
            json.dumps(params),
            "--name",
            name,
            env=self.env,
            cwd=self.tmp,
        )
        self.workers.append(worker)
        await wait_for(lambda: worker.seen("connected") or not worker.alive, 40, "worker")
        assert worker.seen("connected"), worker.text
        return worker, out

    async def get(self, path: str) -> Any:
        async with asyncio.timeout(5), self.http.get(path) as resp:
            assert resp.status == 200, (path, resp.status, await resp.text())
            return await resp.json()

    async def requests(self) -> list[dict[str, Any]]:
        return (await self.get("/_sim/requests"))["orders"]  # type: ignore[no-any-return]

    async def metrics(self, member: Member) -> dict[str, float] | None:
        """The member's gateway gauges, None when it does not answer."""
        try:
            async with asyncio.timeout(2), aiohttp.ClientSession() as s, s.get(member.metrics) as r:
                text = await r.text()
        except (OSError, TimeoutError, aiohttp.ClientError):
            return None
        gauges = {}
        for name in ("tradewire_gateway_active", "tradewire_gateway_term"):
            found = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)", text, re.M)
            if found:
                gauges[name] = float(found.group(1))
        return gauges

    async def close(self) -> None:
        for proc in [*self.workers, *(m.proc for m in self.members)]:
            await proc.stop(timeout_s=10)
            (self.tmp / f"{proc.name}.log").write_text("".join(proc.lines))  # for a failure
        await self.http.close()


@pytest.fixture
async def group(tmp_path: Path, keyless_env: dict[str, str]) -> AsyncIterator[Group]:
    nats = NatsServer(jetstream=True)
    await nats.start()
    sim = SimProcess(["--symbols", "AAPL", "--rate", "200", "--seed", "7"])
    try:
        await sim.start()
        g = Group(tmp_path, dict(keyless_env, PYTHONUNBUFFERED="1"), nats, sim)
        try:
            yield g
        finally:
            await g.close()
    finally:
        await sim.stop()
        await nats.close()


async def active_and_standby(group: Group, inline: bool = False) -> tuple[Member, Member]:
    first = await group.start_member(inline)
    await wait_for(lambda: first.terms() or not first.proc.alive, 30, "first active")
    assert first.terms(), first.proc.text
    await wait_for(lambda: first.proc.seen("serving workers"), 30, "first serving")
    second = await group.start_member(inline)
    await wait_for(lambda: second.proc.seen(STANDBY), 30, "second standby:\n" + second.proc.text)
    return first, second


async def takeover(
    killed: Member, heir: Member, began: float, mark: int, what: str
) -> tuple[int, float]:
    """Wait for ``heir`` to become active after ``mark``; its term and the seconds it took."""
    bound = LEASE_S + 3.0
    await wait_for(lambda: heir.terms(mark), bound + 5, f"{what}: takeover\n{heir.proc.text}")
    term, at = heir.terms(mark)[0]
    took = at - began
    print(f"{what}: term {term} active {took:.2f}s after the fault")
    assert took <= bound, f"{what}: takeover took {took:.2f}s (bound {bound:.1f}s)"
    return term, took


def fills(out: Path) -> list[list[Any]]:
    return read_json(out).get("fills", [])  # type: ignore[no-any-return]


def journal_positions(path: Path) -> dict[str, float] | None:
    """The positions a journal replays to (None: caught mid-append)."""
    try:
        records = read_journal(path, repair=False).records
    except (OSError, TradewireError):
        return None
    book = replay(records).book
    return {s: float(p.qty) for s, p in book.positions.items() if p.qty}


def assert_once(requests: list[dict[str, Any]]) -> None:
    twice = {c: n for c, n in Counter(r["client_order_id"] for r in requests).items() if n > 1}
    assert not twice, f"client_order_ids that reached the broker more than once: {twice}"


# -- 1 -------------------------------------------------------------------------------------


async def test_sigkill_of_the_active_while_a_worker_trades(group: Group) -> None:
    first, second = await active_and_standby(group)
    worker, out = await group.start_worker()
    await wait_for(lambda: len(fills(out)) >= 6, 30, "the worker trades")

    mark = len(second.proc.lines)
    began = time.monotonic()
    first.proc.send(signal.SIGKILL)
    term, _ = await takeover(first, second, began, mark, "SIGKILL")
    await first.proc.stop()
    assert term == 2
    await wait_for(lambda: second.proc.seen("serving workers", mark), 30, "serving again")
    before = len(fills(out))
    await wait_for(lambda: len(fills(out)) >= before + 6, 30, "the worker trades on")

    # Quiesce: the strategy stops sending; the broker's view and the worker's settle.
    group.pause.touch()
    mine = lambda o: o["client_order_id"].startswith("w1-")  # noqa: E731

    async def settled() -> bool:
        orders = [o for o in await group.get("/v2/orders?status=all&limit=500") if mine(o)]
        heard: dict[str, float] = {}
        for cid, _, filled in fills(out):
            heard[cid] = max(heard.get(cid, 0.0), float(filled))
        return all(float(o["filled_qty"]) == heard.get(o["client_order_id"], 0.0) for o in orders)

    with contextlib.suppress(AssertionError):
        await wait_async(settled, 10, "the worker hears every fill")
    orders = [o for o in await group.get("/v2/orders?status=all&limit=500") if mine(o)]
    requests = await group.requests()
    assert_once(requests)

    seen = fills(out)
    per_fill = Counter((cid, float(filled)) for cid, _, filled in seen)
    doubled = [k for k, n in per_fill.items() if n > 1]
    assert not doubled, f"fills the worker heard twice: {doubled}"
    heard: dict[str, float] = {}
    for cid, _, filled in seen:
        heard[cid] = max(heard.get(cid, 0.0), float(filled))
    missed = {
        o["client_order_id"]: (o["filled_qty"], heard.get(o["client_order_id"], 0.0))
        for o in orders
        if float(o["filled_qty"]) != heard.get(o["client_order_id"], 0.0)
    }
    assert not missed, f"broker fills the worker never heard (broker, heard): {missed}"
    assert sum(1 for o in orders if float(o["filled_qty"]) > 0) >= 12

    # The new active's engine against the broker: stop it (no cancels: the config keeps the
    # orders working) and compare its end report with the broker's positions and orders.
    await worker.stop()
    await second.proc.stop()
    report = read_json(second.report)
    assert report, second.proc.text
    positions = {p["symbol"]: float(p["qty"]) for p in await group.get("/v2/positions")}
    engine = {s: float(p["qty"]) for s, p in report["positions"].items()}
    assert engine == {s: q for s, q in positions.items() if q}, (engine, positions)
    open_at_broker = sorted(o["client_order_id"] for o in await group.get("/v2/orders?status=open"))
    assert report["open_orders"] == open_at_broker


# -- 2 -------------------------------------------------------------------------------------


async def test_sigstop_of_the_active_then_sigcont_the_old_one_sends_nothing(group: Group) -> None:
    first, second = await active_and_standby(group, inline=True)
    _, out = await group.start_worker()  # its intents queue for the stopped one too
    await wait_for(lambda: len(fills(first.folder / "inline.json")) >= 4, 30, "first trades")
    await wait_for(lambda: len(fills(out)) >= 2, 30, "the worker trades")

    mark = len(second.proc.lines)
    old_mark = len(first.proc.lines)
    began = time.monotonic()
    first.proc.send(signal.SIGSTOP)
    term, _ = await takeover(first, second, began, mark, "SIGSTOP")
    assert term == 2
    new = f"tw-t{term}-"

    async def new_term_sent() -> bool:
        return any(r["client_order_id"].startswith(new) for r in await group.requests())

    await wait_async(new_term_sent, 20, "the new term trades")
    await asyncio.sleep(max(0.0, began + 3 * LEASE_S - time.monotonic()))  # the fault itself
    first.proc.send(signal.SIGCONT)
    woke = time.monotonic()
    await wait_for(
        lambda: first.proc.seen(STANDBY, old_mark), 10, "old steps down:\n" + first.proc.text
    )
    stepped = (first.proc.when(STANDBY, old_mark) or woke) - woke
    print(f"SIGSTOP: the old active said standby {stepped:.2f}s after SIGCONT")
    # The new term keeps trading after the old one woke: its orders prove time went on.
    seen = len(await group.requests())
    await wait_async(lambda: _more(group, seen, 4), 20, "the new term trades on")

    requests = await group.requests()
    first_new = min(r["at"] for r in requests if r["client_order_id"].startswith(new))
    late = [
        r for r in requests if r["client_order_id"].startswith("tw-t1-") and r["at"] > first_new
    ]
    assert not late, f"the old term sent after the new one began: {late}"
    assert_once(requests)
    assert first.proc.alive, "the old active stays in the group as a standby"
    gauges = await group.metrics(first)
    assert gauges is not None
    assert gauges["tradewire_gateway_active"] == 0.0, gauges

    # The stepped-down one is a standby again (a second mirror phase): it takes over in turn.
    mark = len(first.proc.lines)
    began, began_wall = time.monotonic(), time.time()
    second.proc.send(signal.SIGKILL)
    again, _ = await takeover(second, first, began, mark, "SIGKILL of the new active")
    assert again == term + 1

    async def third_term_sent() -> bool:
        return any(
            r["client_order_id"].startswith(f"tw-t{again}-") and r["at"] > began_wall
            for r in await group.requests()
        )

    await wait_async(third_term_sent, 20, f"term {again} trades:\n{first.proc.text}")
    await second.proc.stop()
    assert_once(await group.requests())
    group.pause.touch()
    # The journal of the term now trading (the phase-2 mirror, read while it runs) settles
    # on the broker's positions once the last fills are in.
    journal = max((first.folder / "journal").glob(f"ha-{GROUP}-*.twj"), key=lambda f: f.name)
    assert journal.name.endswith("-2.twj"), journal

    async def agree() -> tuple[dict[str, float], dict[str, float]] | None:
        broker = {p["symbol"]: float(p["qty"]) for p in await group.get("/v2/positions")}
        broker = {s: q for s, q in broker.items() if q}
        engine = journal_positions(journal)
        return None if engine != broker else (engine, broker)

    with contextlib.suppress(AssertionError):
        await wait_async(agree, 10, "the journal agrees with the broker")
    broker = {p["symbol"]: float(p["qty"]) for p in await group.get("/v2/positions")}
    assert journal_positions(journal) == {s: q for s, q in broker.items() if q}, broker


async def _more(group: Group, seen: int, n: int) -> bool:
    return len(await group.requests()) >= seen + n


# -- 3 -------------------------------------------------------------------------------------


async def test_the_active_cut_off_from_nats_halts_and_one_active_remains(group: Group) -> None:
    first, second = await active_and_standby(group, inline=True)
    await wait_for(lambda: len(fills(first.folder / "inline.json")) >= 4, 30, "first trades")

    await group.nats.stop()
    stopped = time.monotonic()
    stopped_wall = time.time()
    await asyncio.sleep(LEASE_S + 1.0)  # the outage (any shorter and nothing is tested)
    await group.nats.start()

    # The old term's own orders stop within lease_s of the outage (the fence).
    requests = await group.requests()
    late = [
        r
        for r in requests
        if r["client_order_id"].startswith("tw-t1-") and r["at"] > stopped_wall + LEASE_S
    ]
    assert not late, f"term 1 sent after the NATS outage plus lease_s: {late}"
    halted = first.proc.when("lost the failover lease|" + STANDBY)
    assert halted is not None, first.proc.text
    assert halted - stopped <= LEASE_S + 0.5, first.proc.text

    async def one_active() -> list[float] | None:
        gauges = [await group.metrics(m) for m in (first, second)]
        actives = [g["tradewire_gateway_active"] for g in gauges if g is not None]
        if len(actives) == 2 and sorted(actives) == [0.0, 1.0]:
            return actives
        return None

    await wait_async(one_active, 20, "exactly one active after the restart")
    # And it stays so: a second look a lease later agrees.
    await asyncio.sleep(LEASE_S)
    again = await one_active()
    assert again is not None, "the group has not exactly one active"
    winner = (first, second)[again.index(1.0)]
    gauges = await group.metrics(winner)
    assert gauges is not None
    term = int(gauges["tradewire_gateway_term"])
    assert term >= 2, gauges  # a new term: the lapsed one is never resumed
    print(f"NATS outage: {winner.proc.name} active in term {term} after the restart")

    async def trading() -> bool:
        return any(r["client_order_id"].startswith(f"tw-t{term}-") for r in await group.requests())

    await wait_async(trading, 20, f"term {term} trades")
    assert_once(await group.requests())


# -- 4 -------------------------------------------------------------------------------------


async def test_a_group_kill_survives_the_takeover(group: Group) -> None:
    first, second = await active_and_standby(group, inline=True)
    await wait_for(lambda: len(fills(first.folder / "inline.json")) >= 2, 30, "first trades")

    config = first.folder / "gateway.yaml"
    done = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tradewire", "kill", "--group", "--config", str(config),
        "--reason", "failover test",
        cwd=first.folder, env=group.env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    said, _ = await asyncio.wait_for(done.communicate(), 30)
    assert done.returncode == 0, said.decode()
    print("tradewire kill --group:", said.decode().strip().splitlines()[-1:])

    killed_wall = time.time()
    mark = len(second.proc.lines)
    began = time.monotonic()
    first.proc.send(signal.SIGKILL)
    await takeover(first, second, began, mark, "SIGKILL after kill --group")
    await wait_for(lambda: second.proc.seen("serving workers", mark), 30, "serving again")
    inline = second.folder / "inline.json"
    await wait_for(lambda: read_json(inline).get("denied"), 20, "the new term's strategy denied")
    denied = read_json(inline)["denied"]
    assert all("kill" in d for d in denied), denied
    assert not read_json(inline).get("sent"), read_json(inline)
    requests = await group.requests()
    sent = [
        r for r in requests if r["at"] > killed_wall and r["client_order_id"].startswith("tw-t2")
    ]
    assert not sent, f"the halted group's new active sent orders: {sent}"


# -- takeover time -------------------------------------------------------------------------


async def test_takeover_time_over_repeated_sigkills(group: Group) -> None:
    kills = int(os.environ.get("TRADEWIRE_FAILOVER_KILLS", "3"))
    active, standby = await active_and_standby(group, inline=True)
    lease: list[float] = []  # SIGKILL to the standby's "active (term N)"
    trading: list[float] = []  # SIGKILL to the new term's first order at the broker
    for i in range(kills):
        mark = len(standby.proc.lines)
        began, began_wall = time.monotonic(), time.time()
        active.proc.send(signal.SIGKILL)
        term, took = await takeover(active, standby, began, mark, f"kill {i + 1}")
        lease.append(took)
        prefix = f"tw-t{term}-"

        async def first_order(prefix: str = prefix) -> float | None:
            ats = [
                r["at"] for r in await group.requests() if r["client_order_id"].startswith(prefix)
            ]
            return min(ats) if ats else None

        trading.append(await wait_async(first_order, 20, f"term {term} trades") - began_wall)
        await active.proc.stop()
        if i + 1 < kills:  # a fresh standby for the next kill
            active, standby = standby, await group.start_member(inline=True)
            await wait_for(lambda m=standby: m.proc.seen(STANDBY), 30, "standby")

    def p(xs: list[float]) -> str:
        return f"p50 {statistics.median(xs):.2f}s max {max(xs):.2f}s"

    print(
        f"\nfailover takeover over {kills} SIGKILLs (lease_s {LEASE_S:g}, margin_s "
        f"{LEASE_S / 4:g}): lease taken {p(lease)}; first order of the new term {p(trading)}"
    )
    assert max(lease) <= LEASE_S + 3.0
