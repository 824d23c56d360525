"""Chaos with an options strategy, then an expiry (issue 24).

The simulator quotes SPY and its option chains (``--options SPY``: the feed's /options path,
the broker's contracts, Massive REST's chain snapshot) and fills partially now and then
(``--partial-fills``). One strategy, written below, trades on a timer: call verticals as ONE
``mleg`` order each (debits and credits, limits at the touch that fill and away from it that
rest, 1 to 3 units so partial fills happen), single-leg buys and sells-to-close, and cancels;
early on it buys a deep in-the-money and a far out-of-the-money call of the nearest listed
expiry (closing at least two days ahead) and keeps them. For ``TRADEWIRE_OPTIONS_CHAOS_S``
(12 s by default, a fixed seed) the simulator's control plane injects a trade_updates stream
gap, 429s and 5xx, and the engine is SIGKILLed and restarted on the same journal.

Then faults stop and the engine runs once more, quietly (it only keeps one far-away order
resting, so its reconciliation runs every second). Once that order reached the broker, the
open orders on the nearest expiry are cancelled (the venue ends them at the close; the
simulator's settlement leaves them working) and that expiry is settled through
``POST /_sim/options``: the ITM call is exercised (OPEXC: 100 SPY shares in), the OTM call
expires worthless (OPEXP), and the expiry's spread legs are exercised, assigned or expire.
The running engine must take those from the broker: its reconciliation reads the OPEXC,
OPASN and OPEXP activities and books each once (``OptionSettled``: the option goes, the
delivered shares come), so its positions meet the broker's with no correction. It stops
without cancelling and is compared with the broker: positions equal (from its report and from the journal's replay;
read through ``reports.broker_positions``), the expiry's contracts gone and the delivered SPY
shares held, open orders equal, no client_order_id twice, every broker order (mleg parents:
``nested=true`` rolls their legs up) in the journal.

Test modules cannot import each other (``--import-mode=importlib``): the harness of
``test_chaos_crypto.py`` is copied here in small.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import random
import signal
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tradewire.engine import events as ev
from tradewire.engine.journal.codec import decode_belief
from tradewire.engine.journal.replay import replay
from tradewire.engine.journal.store import read_journal
from tradewire.engine.options import parse_occ
from tradewire.sim.option_chain import expiry_instant
from tradewire.sim.process import SimProcess
from tradewire.venues.alpaca.messages import Position
from tradewire.venues.alpaca.reports import broker_positions

AUTH = {"APCA-API-KEY-ID": "test-key", "APCA-API-SECRET-KEY": "test-secret"}
CHAOS_S = float(os.environ.get("TRADEWIRE_OPTIONS_CHAOS_S", "12"))
SEED = int(os.environ.get("TRADEWIRE_CHAOS_SEED", "20261204"))
MARGIN_S = 60.0  # the last run, the expiry and the broker's state; the bound of the test
QUIET_S = 12  # the last run's --duration: start-up, the marker, the expiry, two rounds
# The expiry settled is the nearest listed one closing at least this far ahead: closer, its
# far out-of-the-money calls are worth nothing (no bid: nothing fills), and one closing during
# the test would settle by itself.
CLOSE_MARGIN = timedelta(days=2)

CONFIG = """
mode: sim
broker: {request_timeout_s: 1.0, resolve_backoff_s: 0.1, resolve_attempts: 4}
options: {underlyings: [SPY], chain_refresh_s: 60}
risk:
  max_orders_per_second: 50
  max_open_orders: 200
  max_position_qty: 100000
  max_gross_exposure: 100000000
  max_order_notional: 1000000
  price_band_pct: 1000  # a far out-of-the-money call: 0.06 bid for at 0.01
  max_rejects_in_window: 100000
  options: {max_contracts_per_order: 10, max_contracts_per_position: 200,
            max_premium_per_order: 100000, max_premium_per_day: 10000000,
            max_order_notional: 1000000}
journal: {fsync: never, abandon_intents_older_than_s: 5}
metrics: {enabled: false}
control: {enabled: false}
run: {panel: false, cancel_open_orders_on_stop: false, reconcile_interval_s: 1.0,
      reconcile_timeout_s: 5, finish_timeout_s: 5}
tuning: {enabled: false}
strategies:
  - path: {strategy}:OptionsChaos
    symbols: [SPY]
    params: {near: "{near}", later: "{later}", trade: {trade}}
"""

STRATEGY = '''
import random

import msgspec

from tradewire import Leg, Strategy


class OptionsChaos(Strategy):
    """Call verticals (mleg, debit and credit, marketable and resting), single-leg buys and
    sells-to-close, cancels; two anchors of the nearest expiry bought and kept: its lowest
    strike's call (deep in the money) and one of its two highest (far out of it, with a bid:
    the simulator fills nothing against a zero bid). Those three strikes are the anchors'
    alone. Quiet (``trade`` false): one resting buy far under the market, its
    client_order_id starting "marker-", and nothing else."""

    class Params(msgspec.Struct, forbid_unknown_fields=True):
        near: str  # the nearest listed expiry (YYYY-MM-DD): the test settles it
        later: str  # a later one: its contracts outlive the settlement
        trade: bool = True
        every_s: float = 0.1

    def on_start(self):
        self.rng = random.Random()
        self.books = None  # (near, later): strike -> call symbol
        self.anchors = ()
        self.marked = False
        self.call_every(self.params.every_s, self.tick)

    def pick(self):
        p = self.params
        calls = self.option_chain("SPY", type="call")
        if not calls or self.mid("SPY") is None:
            return
        near = {c.strike: c.symbol for c in calls if c.expiry.isoformat() == p.near}
        later = {c.strike: c.symbol for c in calls if c.expiry.isoformat() == p.later}
        if len(near) < 6 or len(later) < 6:
            return
        self.books = (near, later)
        top = sorted(near)[-2:]
        self.anchors = (near[min(near)], near[top[0]], near[top[1]])
        self.subscribe(sorted(near.values()) + sorted(later.values()))

    def touch(self, symbol):
        q = self.last_quote(symbol)
        if q is None or q.ask_price <= 0:
            return None
        return q.bid_price, q.ask_price

    def working(self, symbol, side):
        total = 0.0
        for o in self.open_orders():
            if o.legs:
                total += sum(o.remaining_qty * leg.ratio for leg in o.legs
                             if leg.symbol == symbol and leg.resolved_side == side)
            elif o.symbol == symbol and o.side == side:
                total += o.remaining_qty
        return total

    def tick(self):
        if self.books is None:
            self.pick()
            return
        if not self.params.trade:
            self.mark()
            return
        for symbol in (self.anchors[0], self.far_otm()):  # kept: a restart sees them held
            t = self.touch(symbol) if symbol else None
            if t and self.position(symbol).qty < 1 and not self.working(symbol, "buy"):
                self.buy(symbol, 1, limit_price=round(t[1] + 0.05, 2))
        roll = self.rng.random()
        if roll < 0.35:
            self.vertical()
        elif roll < 0.5:
            self.single_buy()
        elif roll < 0.65:
            self.sell_to_close()
        elif roll < 0.8 or len(self.open_orders()) > 30:
            mine = [o for o in self.open_orders() if o.symbol not in self.anchors]
            if mine:
                self.cancel(self.rng.choice(mine))

    def far_otm(self):
        """The far out-of-the-money anchor: one held or being bought, else the highest of
        the two that has a bid and is well above the underlying."""
        held = [s for s in self.anchors[1:] if self.position(s).qty >= 1 or self.working(s, "buy")]
        if held:
            return held[0]
        spot = self.mid("SPY") or 0.0
        for symbol in reversed(self.anchors[1:]):
            t = self.touch(symbol)
            if t and t[0] >= 0.02 and float(symbol[-8:]) / 1000 >= spot + 10:
                return symbol
        return None

    def inner(self):
        near, later = self.books
        if self.rng.random() < 0.4:
            return near, sorted(near)[1:-2]  # never an anchor's strike
        return later, sorted(later)[1:-1]

    def intent(self, symbol, side):
        held = self.position(symbol).qty
        if side == "buy":
            return "buy_to_close" if held < 0 else "buy_to_open"
        return "sell_to_close" if held > 0 else "sell_to_open"

    def vertical(self):
        book, strikes = self.inner()
        i = self.rng.randrange(len(strikes) - 2)
        low, high = book[strikes[i]], book[strikes[i + self.rng.choice((1, 2))]]
        lo, hi = self.touch(low), self.touch(high)
        if lo is None or hi is None:
            return
        debit = self.rng.random() < 0.5
        if debit:  # buy the lower strike, sell the higher: pay at most the limit
            legs = [(low, "buy"), (high, "sell")]
            touch = lo[1] - hi[0]
            limit = touch + 0.05 if self.rng.random() < 0.5 else touch * 0.5
        else:  # sell the lower, buy the higher: receive at least -limit
            legs = [(low, "sell"), (high, "buy")]
            touch = hi[1] - lo[0]
            limit = touch + 0.05 if self.rng.random() < 0.5 else touch * 1.5
        limit = round(limit, 2)
        if limit == 0 or (debit and limit < 0) or (not debit and limit > 0):
            return
        self.submit_multileg(
            [Leg(s, 1, side, self.intent(s, side)) for s, side in legs],
            self.rng.choice((1, 2, 3)),
            limit_price=limit,
            time_in_force=self.rng.choice(("day", "gtc")),
        )

    def single_buy(self):
        book, strikes = self.inner()
        symbol = book[self.rng.choice(strikes)]
        t = self.touch(symbol)
        if t is None:
            return
        price = t[1] + 0.05 if self.rng.random() < 0.5 else t[0] * 0.6
        if round(price, 2) >= 0.01:
            self.buy(symbol, self.rng.choice((1, 2)), limit_price=round(price, 2))

    def sell_to_close(self):
        held = []
        for book in self.books:
            for symbol in book.values():
                free = self.position(symbol).qty - self.working(symbol, "sell")
                if symbol not in self.anchors and free >= 1:
                    held.append((symbol, free))
        if not held:
            return
        symbol, free = self.rng.choice(held)
        t = self.touch(symbol)
        if t is None:
            return
        price = max(t[0] - 0.05, 0.01) if self.rng.random() < 0.5 else t[1] * 1.4
        self.sell(symbol, min(free, self.rng.choice((1, 2))), limit_price=round(price, 2))

    def mark(self):
        if self.marked:
            return
        later = self.books[1]
        symbol = later[sorted(later)[len(later) // 2]]
        t = self.touch(symbol)
        if t is not None and t[0] > 0.1:
            self.marked = True
            cid = "marker-%08x" % self.rng.getrandbits(32)
            self.buy(symbol, 1, limit_price=round(t[0] * 0.6, 2), client_order_id=cid)
'''

FAULTS = [
    (
        "stream gap",
        lambda r: ("/_sim/stream", {"drop": True, "block_s": round(r.uniform(0.5, 2), 2)}),
    ),
    (
        "429",
        lambda r: ("/_sim/faults", {"reject_next_with": [429, 42910000, "rate limit exceeded"]}),
    ),
    ("5xx burst", lambda r: ("/_sim/faults", {"error_5xx_rate": round(r.uniform(0.2, 0.6), 2)})),
]
CLEAR = {"error_5xx_rate": 0, "reject_next_with": None}


def sim_request(base: str, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    headers = dict(AUTH, **({"Content-Type": "application/json"} if data else {}))
    req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read()
    return json.loads(text) if text else None


def broker_state(base: str) -> tuple[list[dict[str, Any]], set[str], list[dict[str, Any]]]:
    # nested=true: an mleg order is its parent, its legs inside (they have the broker's ids)
    raw_positions = sim_request(base, "GET", "/v2/positions")
    open_ids = {
        o["client_order_id"]
        for o in sim_request(base, "GET", "/v2/orders?status=open&limit=500&nested=true")
    }
    every: list[dict[str, Any]] = []
    until = None
    while True:  # page through every order, newest first
        page = sim_request(
            base,
            "GET",
            "/v2/orders?status=all&limit=500&direction=desc&nested=true"
            + (f"&until={until}" if until else ""),
        )
        every.extend(page)
        if len(page) < 500:
            return raw_positions, open_ids, every
        until = page[-1]["submitted_at"]


def expiries(base: str) -> tuple[str, str] | None:
    """The nearest listed expiry not settled whose close is far enough (the test settles it)
    and the one after it; None until the chains are listed (from SPY's first price)."""
    listed = sim_request(base, "GET", "/_sim/options")
    soon = datetime.now(UTC) + CLOSE_MARGIN
    open_ = [
        d
        for d in listed["expiries"]
        if d not in listed["settled"] and expiry_instant(date.fromisoformat(d)) > soon
    ]
    return (open_[0], open_[1]) if len(open_) >= 2 else None


def on_expiry(order: dict[str, Any], expiry: str) -> bool:
    """Does this order (an mleg parent: any of its legs) trade a contract of ``expiry``?"""
    symbols = [order["symbol"], *(leg["symbol"] for leg in order.get("legs") or ())]
    return any(len(s) > 15 and parse_occ(s).expiry.isoformat() == expiry for s in symbols)


def end_orders_on(base: str, expiry: str) -> bool:
    """Cancel the open orders on ``expiry``'s contracts, as the venue ends them at the close
    (the simulator's settlement leaves them working); True once none is left."""
    left = [
        o
        for o in sim_request(base, "GET", "/v2/orders?status=open&limit=500&nested=true")
        if on_expiry(o, expiry)
    ]
    for order in left:
        with contextlib.suppress(urllib.error.HTTPError):  # ended meanwhile: 422
            sim_request(base, "DELETE", f"/v2/orders/{order['id']}")
    return not left


def _own_group_killed_with_parent() -> None:
    """In the engine child: its own process group, SIGKILLed when the test process dies."""
    os.setpgid(0, 0)
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # 1: PR_SET_PDEATHSIG


async def start_engine(
    tmp_path: Path, sim: SimProcess, duration_s: float, report: Path, engines: list[Any]
) -> Any:
    with (tmp_path / f"engine-{len(engines)}.err").open("wb") as err:
        engine = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "tradewire.app.cli", "run"),
            *("--config", str(tmp_path / "c.yaml"), "--journal", str(tmp_path / "journal.twj")),
            *("--sim-feed-url", sim.feed_url, "--sim-broker-url", sim.broker_url),
            *("--sim-rest-url", sim.rest_url),
            *("--no-panel", "--duration", str(duration_s), "--report-json", str(report)),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            preexec_fn=_own_group_killed_with_parent,
        )
    engines.append(engine)
    return engine


def stderr_of(tmp_path: Path, engines: list[Any]) -> str:
    return (tmp_path / f"engine-{len(engines) - 1}.err").read_text(errors="replace")[-3000:]


def write_config(tmp_path: Path, near: str, later: str, *, trade: bool) -> None:
    config = CONFIG.replace("{strategy}", str(tmp_path / "options_chaos.py"))
    config = config.replace("{near}", near).replace("{later}", later)
    (tmp_path / "c.yaml").write_text(config.replace("{trade}", "true" if trade else "false"))


async def until(what: str, check: Any, timeout_s: float, engine: Any) -> Any:
    """Poll ``check`` (in a thread) until it answers something true; fail after ``timeout_s``
    or when the engine ended first."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        found = await asyncio.to_thread(check)
        if found:
            return found
        assert engine is None or engine.returncode is None, f"the engine ended before {what}"
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {timeout_s:.0f}s: {what}")


@pytest.mark.timeout(CHAOS_S + MARGIN_S + 30)
def test_an_options_strategy_converges_to_the_broker_after_chaos_and_an_expiry(tmp_path):
    asyncio.run(_bounded_chaos(tmp_path))


async def _bounded_chaos(tmp_path: Path) -> None:
    engines: list[Any] = []
    try:
        async with asyncio.timeout(CHAOS_S + MARGIN_S):
            await _chaos(tmp_path, engines)
    finally:
        for engine in engines:
            if engine.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(engine.pid, signal.SIGKILL)
        for engine in engines:
            await engine.wait()


async def _chaos(tmp_path: Path, engines: list[Any]) -> None:
    # Arrange
    rng = random.Random(SEED)
    (tmp_path / "options_chaos.py").write_text(STRATEGY)
    sim_args = [
        *("--symbols", "SPY", "--options", "SPY", "--rate", "100", "--seed", str(SEED)),
        *("--partial-fills", "0.3"),
    ]
    loop = asyncio.get_running_loop()
    async with SimProcess(sim_args) as sim:
        base = sim.broker_url
        near, later = await until("the chains listed", lambda: expiries(base), 15, None)
        write_config(tmp_path, near, later, trade=True)
        kills = injected = 0
        seen: set[str] = set()
        deadline = loop.time() + CHAOS_S
        # Act 1: faults, with the engine SIGKILLed and restarted on its journal
        while loop.time() < deadline:
            engine = await start_engine(tmp_path, sim, 3600, tmp_path / "ignored.json", engines)
            life_end = min(deadline, loop.time() + rng.uniform(3, 6))
            while loop.time() < life_end and engine.returncode is None:
                await asyncio.sleep(rng.uniform(0.2, 0.8))
                name, make = rng.choice(FAULTS)
                path, body = make(rng)
                await asyncio.to_thread(sim_request, base, "POST", path, body)
                injected += 1
                seen.add(name)
                if rng.random() < 0.3:
                    await asyncio.sleep(rng.uniform(0.2, 0.8))
                    await asyncio.to_thread(sim_request, base, "POST", "/_sim/faults", CLEAR)
            assert engine.returncode is None, stderr_of(tmp_path, engines)
            engine.send_signal(signal.SIGKILL)
            await asyncio.wait_for(engine.wait(), 30)
            kills += 1

        # Act 2: faults stop; the engine runs quietly; the nearest expiry settles under it
        await asyncio.to_thread(sim_request, base, "POST", "/_sim/faults", CLEAR)
        await asyncio.to_thread(sim_request, base, "POST", "/_sim/stream", {"block_s": 0})
        write_config(tmp_path, near, later, trade=False)
        report = tmp_path / "report.json"
        engine = await start_engine(tmp_path, sim, QUIET_S, report, engines)

        def marker_resting() -> bool:
            _, open_ids, _ = broker_state(base)
            return any(cid.startswith("marker-") for cid in open_ids)

        await until("the quiet engine's order reached the broker", marker_resting, 20, engine)
        await until("no order left on the expiry", lambda: end_orders_on(base, near), 10, engine)
        before = await asyncio.to_thread(sim_request, base, "GET", "/v2/positions")
        expired_ns = time.time_ns()
        settled = await asyncio.to_thread(
            sim_request, base, "POST", "/_sim/options", {"expire": near}
        )
        await asyncio.wait_for(engine.wait(), QUIET_S + 30)
        assert engine.returncode == 0, stderr_of(tmp_path, engines)
        raw_positions, open_ids, orders = await asyncio.to_thread(broker_state, base)

    # Assert
    (tmp_path / "broker.json").write_text(
        json.dumps({"orders": orders, "before": before, "settled": settled})
    )
    final = json.loads(report.read_text())
    engine_positions = {s: p["qty"] for s, p in final["positions"].items() if p["qty"]}
    raw = msgspec.convert(raw_positions, list[Position])
    broker = {key: qty for key, (qty, _) in broker_positions(raw).items() if qty}
    records = read_journal(tmp_path / "journal.twj").records
    journal = replay(records)
    replayed = {s: p.qty for s, p in journal.book.positions.items() if p.qty}
    corrected = [  # positions taken from the broker (start-up, reconcile)
        b
        for b in map(decode_belief, records)
        if isinstance(b, ev.PositionCorrected) and b.reason != "snapshot"
    ]
    every = [o["client_order_id"] for o in orders]
    mleg = [o for o in orders if o["order_class"] == "mleg"]
    held_before = {p["symbol"]: float(p["qty"]) for p in before}
    near_held = {s for s in held_before if s != "SPY" and parse_occ(s).expiry.isoformat() == near}
    activities = settled["activities"]
    kinds = {a["activity_type"] for a in activities}
    assert kills >= 2
    assert seen == {name for name, _ in FAULTS}
    # ~20-30 broker orders in 12 s here; fewer than 12 means the chaos barely traded
    assert len(every) >= 12, "the strategy should have traded"
    assert any(o["status"] == "filled" for o in mleg), "an mleg order should have filled"
    assert any(o["status"] == "new" for o in mleg) or any(
        o["status"] == "canceled" for o in mleg
    ), "an mleg order should have rested"
    assert any(o["order_class"] != "mleg" and o["status"] == "filled" for o in orders)
    assert len(every) == len(set(every)), "a client_order_id reached the broker twice"
    assert set(every) <= set(journal.manager.orders), "the journal never saw a broker order"
    # one trader: no order adopted as placed elsewhere (an mleg order's legs once were)
    assert [r.cid for r in records if r.kind == "external"] == []
    # the expiry: an ITM call exercised, an OTM call expired, every near contract gone
    assert {"OPEXC", "OPEXP"} <= kinds, activities
    assert {a["symbol"] for a in activities} == set(near_held), (activities, near_held)
    shares = sum(-float(a["qty"]) * 100 for a in activities if a["activity_type"] != "OPEXP")
    was = held_before.get("SPY", 0.0)
    assert broker.get("SPY", 0.0) == pytest.approx(was + shares), (broker, activities)
    assert not any(s in broker for s in near_held)
    # the engine took the broker's figures
    assert engine_positions == pytest.approx(broker), (engine_positions, broker)
    assert replayed == pytest.approx(broker), (replayed, broker)
    assert set(final["open_orders"]) == open_ids
    # the running engine booked every settlement once, from its activity, and needed no
    # correction for them
    since = [b for r in records if r.ts_ns >= expired_ns and (b := decode_belief(r))]
    booked = [b.activity_id for b in since if isinstance(b, ev.OptionSettled)]
    assert sorted(booked) == sorted(a["id"] for a in activities), (booked, activities)
    fixed = {b.symbol for b in since if isinstance(b, ev.PositionCorrected)}
    assert not fixed & (near_held | {"SPY"}), fixed
    filled = sum(o["status"] == "filled" for o in orders)
    summary = f"{injected} faults, {kills} SIGKILLs, {len(every)} orders ({len(mleg)} mleg)"
    print(
        f"options chaos seed {SEED}: {summary}, {filled} filled, expiry {near}: "
        f"{sorted(kinds)} on {len(activities)} contracts, positions {broker}, "
        f"corrections {len(corrected)} {final['reconcile_corrections']}"
    )
