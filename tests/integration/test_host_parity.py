"""One strategy script, three hosts: the inline node on the simulator, a backtest, a worker
through a gateway. With one engine core (issue 21) they must agree on what the strategy sent,
what it heard and where it ended: timers it cancelled never run, cash and equity read the
same, a replace makes the same new order, a bracket is the same request, an erroring callback
counts one error, and an erroring ``on_start`` is the same StrategyError."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tradewire import Quote, Strategy, StrategyError
from tradewire.backtest.broker import BacktestBroker
from tradewire.backtest.latency import parse_latency_model
from tradewire.backtest.node import BacktestNode
from tradewire.bus.local import LocalBus, LocalHub
from tradewire.engine.config import JournalConfig, RiskConfig
from tradewire.engine.journal.store import Journal
from tradewire.live.gateway import Gateway
from tradewire.live.node import TradingNode, Venues
from tradewire.live.worker import WorkerNode
from tradewire.sim.venue import VenueConfig, VenueSimulator

pytestmark = pytest.mark.timeout(90)

RISK = RiskConfig(price_band_pct=50)
CASH = Decimal(100_000)
BID, ASK = 99.99, 100.01
T0 = 1_767_268_800_000_000_000  # 2026-01-01 12:00 UTC


class Script(Strategy):
    """On the first quote: a market buy (entry), a resting limit (rest, replaced at its ack)
    and a resting bracket; a timer cancelled, one kept; one raise in a callback."""

    def on_start(self) -> None:
        self.roles: dict[str, str] = {}
        self.heard: dict[str, list[str]] = {}
        self.money: list[tuple[Decimal, Decimal]] = []
        self.ran: list[str] = []
        self.call_later(0.2, lambda: self.ran.append("cancelled")).cancel()
        self.call_later(0.2, lambda: self.ran.append("kept"))
        self.raised = False

    def on_quote(self, q: Quote) -> None:
        if self.roles:
            return
        self.role("entry", self.buy(q.symbol, 10))
        self.role("rest", self.buy(q.symbol, 3, limit_price=90.0))
        self.role(
            "bracket", self.buy(q.symbol, 1, limit_price=90.0, take_profit=120.0, stop_loss=80.0)
        )

    def role(self, name: str, handle: Any) -> None:
        self.roles[handle.client_order_id] = name

    def on_order_update(self, update: Any) -> None:
        role = self.roles.get(update.order.client_order_id, "?")
        self.heard.setdefault(role, []).append(str(update.event))
        if role == "rest" and update.event == "new" and "rest2" not in self.roles.values():
            new = self.replace(update.order, limit_price=91.0)
            assert new is not None
            self.role("rest2", new)

    def on_fill(self, update: Any) -> None:
        self.money.append((self.cash, self.equity))
        if not self.raised:
            self.raised = True
            raise ValueError("one bug, counted once")

    def outcome(self, handles: dict[str, Any], errors: int, position: float) -> dict[str, Any]:
        by_role = {self.roles[cid]: h for cid, h in handles.items() if cid in self.roles}
        return {
            "status": {role: str(h.status) for role, h in sorted(by_role.items())},
            "heard": {role: sorted(set(events)) for role, events in sorted(self.heard.items())},
            "money": self.money,
            "ran": self.ran,
            "errors": errors,
            "position": position,
            "rest2 limit": by_role["rest2"].limit_price,
        }


def intents(requests: list[Any]) -> list[dict[str, Any]]:
    keep = (
        "symbol",
        "side",
        "qty",
        "type",
        "limit_price",
        "order_class",
        "take_profit",
        "stop_loss",
    )
    return [{k: r.get(k) for k in keep} for r in requests]


# -- the three hosts ---------------------------------------------------------------------------


def backtest(tmp_path: Path, strategy: Strategy) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    broker = BacktestBroker(fill_model="touch", seed=0, starting_cash=CASH)
    node = BacktestNode(
        [strategy],
        journal=Journal(tmp_path / "bt.twj", fsync="never"),
        broker=broker,
        latency=parse_latency_model("constant:300,500"),
        risk_config=RISK,
        starting_cash=float(CASH),
    )
    node.run([(T0 + i * 100_000_000, [Quote("AAPL", BID, ASK, 1, 1)]) for i in range(10)])
    sent = [msgspec.to_builtins(o) for o in broker.book.orders.values() if o.parent_id is None]
    assert isinstance(strategy, Script)
    return strategy.outcome(
        node.core.handles, node.strategy_errors, node.book.qty("AAPL")
    ), intents(sorted(sent, key=lambda o: o["client_order_id"]))


async def inline(
    venue: VenueSimulator, tmp_path: Path, strategy: Strategy, until: Callable[..., Awaitable[None]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    venues = Venues.simulator(venue.feed_url, venue.broker_url, venue.broker.stream_url)
    node = TradingNode(
        venues,
        [strategy],
        risk_config=RISK,
        journal_config=JournalConfig(fsync="never"),
        journal_path=tmp_path / "inline.twj",
    )
    await node.start()
    try:
        await drive(venue, strategy, until)
        return strategy.outcome(  # type: ignore[attr-defined]
            node.core.handles, sum(node.counters.strategy_errors.values()), node.book.qty("AAPL")
        ), venue_intents(venue)
    finally:
        await node.stop(cancel_open_orders=True)


async def worker(
    venue: VenueSimulator, tmp_path: Path, strategy: Strategy, until: Callable[..., Awaitable[None]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    venues = Venues.simulator(venue.feed_url, venue.broker_url, venue.broker.stream_url)
    node = TradingNode(
        venues,
        [],
        risk_config=RISK,
        journal_config=JournalConfig(fsync="never"),
        journal_path=tmp_path / "gw.twj",
    )
    hub = LocalHub()
    gateway = Gateway(node, [LocalBus(hub)], heartbeat_s=0.2)
    await node.start()
    await gateway.start()
    w = WorkerNode(LocalBus(hub), [strategy], name="w", resend_s=0.1, hello_s=0.2)
    try:
        await w.start()
        await until(lambda: venue.feed.subscriber_count("Q.AAPL") == 1)
        await drive(venue, strategy, until)
        return strategy.outcome(  # type: ignore[attr-defined]
            w.core.handles,
            sum(w.core.counters.strategy_errors.values()),
            w.core.position("AAPL").qty,
        ), venue_intents(venue)
    finally:
        await w.stop()
        await gateway.stop()
        await node.stop(cancel_open_orders=True)


async def drive(
    venue: VenueSimulator, strategy: Any, until: Callable[..., Awaitable[None]]
) -> None:
    await until(lambda: venue.feed.subscriber_count("Q.AAPL") >= 1)
    frame = {"ev": "Q", "sym": "AAPL", "bp": BID, "bs": 1, "ap": ASK, "as": 1, "t": 1}
    venue.feed.publish([frame])
    await until(lambda: "rest2" in strategy.roles.values() and strategy.money and strategy.ran)
    rest2 = next(c for c, r in strategy.roles.items() if r == "rest2")
    await until(lambda: "new" in strategy.heard.get("rest2", ()) and bool(rest2))
    await until(lambda: "replaced" in strategy.heard.get("rest", ()))


def venue_intents(venue: VenueSimulator) -> list[dict[str, Any]]:
    book = venue.broker.book
    sent = [msgspec.to_builtins(o) for o in book.orders.values() if o.parent_id is None]
    return intents(sorted(sent, key=lambda o: o["client_order_id"]))


@pytest.fixture
async def venue() -> Any:
    async with VenueSimulator(VenueConfig(symbols=("AAPL",))) as v:
        yield v


async def test_the_same_script_ends_the_same_in_every_host(tmp_path: Path, until: Any) -> None:
    expected, sent = backtest(tmp_path, Script(symbols=["AAPL"]))
    assert expected["status"] == {
        "bracket": "new",
        "entry": "filled",
        "rest": "replaced",
        "rest2": "new",
    }
    assert expected["money"] == [(CASH - Decimal("1000.10"), CASH - Decimal("0.10"))]
    assert expected["ran"] == ["kept"]
    assert expected["errors"] == 1
    assert expected["position"] == 10
    assert expected["rest2 limit"] == 91.0
    assert sorted((i["order_class"], i["limit_price"] or "market") for i in sent) == [
        ("bracket", "90.00"),
        ("simple", "90.00"),
        ("simple", "91.00"),
        ("simple", "market"),
    ]

    for host in (inline, worker):
        async with VenueSimulator(VenueConfig(symbols=("AAPL",))) as fresh:  # a new account
            got, got_sent = await host(
                fresh, tmp_path / host.__name__, Script(symbols=["AAPL"]), until
            )
        assert got == expected, host.__name__
        assert sorted(map(repr, got_sent)) == sorted(map(repr, sent)), host.__name__


class FailsToStart(Strategy):
    def on_start(self) -> None:
        raise KeyError("threshold")


async def test_an_erroring_on_start_is_the_same_strategy_error_in_every_host(
    venue: Any, tmp_path: Path, until: Any
) -> None:
    message = "strategy FailsToStart: on_start raised KeyError: 'threshold'"
    with pytest.raises(StrategyError) as bt:
        backtest(tmp_path, FailsToStart(symbols=["AAPL"]))
    assert str(bt.value) == message
    for host in (inline, worker):
        with pytest.raises(StrategyError) as err:
            await host(venue, tmp_path / host.__name__, FailsToStart(symbols=["AAPL"]), until)
        assert str(err.value) == message, host.__name__


class BuysDollars(Strategy):
    """On the first quote: a notional market buy of $250 (issue 23)."""

    def on_start(self) -> None:
        self.order: Any = None
        self.fills: list[tuple[float, float]] = []

    def on_quote(self, q: Quote) -> None:
        if self.order is None:
            self.order = self.buy(q.symbol, notional=250)

    def on_fill(self, update: Any) -> None:
        self.fills.append((update.fill_qty, update.fill_price))


def _notional_outcome(s: BuysDollars, position: float, sent: list[Any]) -> dict[str, Any]:
    bodies = [(o["symbol"], o["side"], o["type"], o["qty"], o["notional"]) for o in sent]
    return {
        "status": str(s.order.status),
        "denied": s.order.denied,
        "filled": round(s.order.filled_qty, 9),
        "fills": [(round(q, 9), p) for q, p in s.fills],
        "position": round(position, 9),
        "sent": bodies,
    }


async def test_a_notional_order_is_the_same_in_every_host(tmp_path: Path, until: Any) -> None:
    # issue 23: buy(symbol, notional=250) leaves as a notional request from every host (a
    # worker's through the gateway) and books the fill the venue makes of it
    s = BuysDollars(symbols=["AAPL"])
    broker = BacktestBroker(fill_model="touch", seed=0, starting_cash=CASH)
    node = BacktestNode(
        [s],
        journal=Journal(tmp_path / "bt.twj", fsync="never"),
        broker=broker,
        latency=parse_latency_model("constant:300,500"),
        risk_config=RISK,
        starting_cash=float(CASH),
    )
    node.run([(T0 + i * 100_000_000, [Quote("AAPL", BID, ASK, 1, 1)]) for i in range(5)])
    sent = [msgspec.to_builtins(o) for o in broker.book.orders.values()]
    expected = _notional_outcome(s, node.book.qty("AAPL"), sent)
    assert expected["status"] == "filled"
    assert expected["sent"] == [("AAPL", "buy", "market", None, "250")]
    assert expected["position"] == pytest.approx(250 / ASK, abs=1e-8)

    frame = {"ev": "Q", "sym": "AAPL", "bp": BID, "bs": 1, "ap": ASK, "as": 1, "t": 1}
    for host in ("inline", "worker"):
        s = BuysDollars(symbols=["AAPL"])
        async with VenueSimulator(VenueConfig(symbols=("AAPL",))) as venue:
            venues = Venues.simulator(venue.feed_url, venue.broker_url, venue.broker.stream_url)
            tn = TradingNode(
                venues,
                [] if host == "worker" else [s],
                risk_config=RISK,
                journal_config=JournalConfig(fsync="never"),
                journal_path=tmp_path / f"{host}.twj",
            )
            await tn.start()
            gateway = w = None
            try:
                if host == "worker":
                    hub = LocalHub()
                    gateway = Gateway(tn, [LocalBus(hub)], heartbeat_s=0.2)
                    await gateway.start()
                    w = WorkerNode(LocalBus(hub), [s], name="w", resend_s=0.1, hello_s=0.2)
                    await w.start()
                await until(lambda: venue.feed.subscriber_count("Q.AAPL") >= 1)
                venue.feed.publish([frame])
                await until(lambda s=s: bool(s.fills) and str(s.order.status) == "filled")
                position = w.core.position("AAPL").qty if w is not None else tn.book.qty("AAPL")
                got_sent = [msgspec.to_builtins(o) for o in venue.broker.book.orders.values()]
                got = _notional_outcome(s, position, got_sent)
            finally:
                if w is not None:
                    await w.stop()
                if gateway is not None:
                    await gateway.stop()
                await tn.stop(cancel_open_orders=True)
        assert got == expected, host
