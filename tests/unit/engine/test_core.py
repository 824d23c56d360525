"""The engine core, sans-I/O: the strategy context every host runs, on a manual clock and a
paper venue (tradewire.testing). What used to differ between the hosts (timers, cash, the
error budget, start and stop, eviction) is asserted here once."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from tradewire import OrderEventType, OrderStatus, Quote, Strategy, StrategyError
from tradewire.engine.config import RiskConfig
from tradewire.engine.core import EngineCore
from tradewire.engine.ids import ClientOrderIds
from tradewire.engine.ports import CoreCounters
from tradewire.errors import ConfigError
from tradewire.testing import FakeContext, ManualClock, run_on_events

T0 = 1_767_268_800_000  # 2026-01-01 12:00 UTC, in Massive's milliseconds


def q(sym: str, bid: float, ask: float, t_ms: int = 0) -> Quote:
    return Quote(sym, bid, ask, 1, 1, timestamp=t_ms)


class Recorder(Strategy):
    """Does what the test tells it to on each quote; records what it hears."""

    def on_start(self) -> None:
        self.heard: list[tuple[str, str]] = []
        self.fills: list[float] = []
        self.ticks = 0
        self.todo: list[Any] = []

    def on_quote(self, quote: Quote) -> None:
        while self.todo:
            self.todo.pop(0)(self)

    def on_order_update(self, update: Any) -> None:
        self.heard.append((update.order.client_order_id, update.event))

    def on_fill(self, update: Any) -> None:
        self.fills.append(update.fill_qty)


def started(strategy: Strategy, **kw: Any) -> FakeContext:
    return FakeContext(strategy, risk=RiskConfig(price_band_pct=50), **kw).start()


# -- timers (finding 1: call_later returned None in a backtest) ------------------------------


def test_call_later_returns_a_timer_that_cancel_stops() -> None:
    s = Recorder(symbols=["AAPL"])
    ctx = started(s)
    ran: list[str] = []
    keep = s.call_later(1.0, lambda: ran.append("kept"))
    drop = s.call_later(1.0, lambda: ran.append("dropped"))
    drop.cancel()
    ctx.advance(0.5)
    assert ran == []
    assert keep.active
    assert not drop.active
    ctx.advance(0.6)
    assert ran == ["kept"]
    assert not keep.active  # a one-shot ends when it ran


def test_call_every_keeps_its_phase_until_cancelled() -> None:
    s = Recorder(symbols=["AAPL"])
    ctx = started(s)
    at: list[int] = []
    timer = s.call_every(1.0, lambda: at.append(s.now_ns()))
    ctx.advance(3.5)
    assert [(t - at[0]) // 10**9 for t in at] == [0, 1, 2]
    timer.cancel()
    ctx.advance(5)
    assert len(at) == 3


def test_a_raising_timer_counts_against_the_error_budget_and_stops_with_the_strategy() -> None:
    s = Recorder(symbols=["AAPL"])
    ctx = started(s, max_errors=3)
    ran: list[int] = []
    s.call_every(1.0, lambda: ran.append(1 / 0))  # type: ignore[func-returns-value]
    ctx.advance(10)
    assert ctx.counters.strategy_errors["Recorder"] == 3
    assert ctx.core.health["Recorder"].stopped
    assert len(ctx.core.timers) == 0  # its timers ended with it


# -- money (finding 2: cash was stale, 0 or constant; no equity or buying power) -------------


def test_cash_equity_and_buying_power_move_with_fills() -> None:
    s = Recorder(symbols=["AAPL"])
    ctx = started(s, cash=10_000.0)
    assert s.cash == s.equity == s.buying_power == Decimal("10000.00")
    s.todo.append(lambda st: st.buy("AAPL", 10))
    ctx.feed([q("AAPL", 99.99, 100.01)])
    assert s.position("AAPL").qty == 10
    assert s.cash == Decimal("8999.90")  # 10 at the ask, 100.01
    assert s.buying_power == Decimal("8999.90")
    assert s.equity == Decimal("9999.90")  # marked at the mid, 100.00
    ctx.feed([q("AAPL", 101.99, 102.01)])
    assert s.equity == Decimal("10019.90")
    assert s.unrealized_pnl == pytest.approx(19.9)
    s.todo.append(lambda st: st.sell("AAPL", 10))
    ctx.feed([q("AAPL", 101.99, 102.01)])
    assert s.cash == Decimal("10019.80")
    assert s.realized_pnl == pytest.approx(19.8)


def test_each_strategy_sees_its_own_pnl() -> None:
    a, b = Recorder(symbols=["AAPL"], name="a"), Recorder(symbols=["AAPL"], name="b")
    ctx = FakeContext(a, risk=RiskConfig(price_band_pct=50))
    ctx.core.strategies.append(b)
    ctx.core.supervisor.watch(b)
    ctx.start()
    a.todo.append(lambda st: st.buy("AAPL", 10))
    ctx.feed([q("AAPL", 99.99, 100.01)])
    ctx.feed([q("AAPL", 109.99, 110.01)])
    assert a.unrealized_pnl == pytest.approx(99.9)
    assert b.unrealized_pnl == 0.0
    assert b.realized_pnl == 0.0


# -- errors (finding 3: the same budget, one traceback) --------------------------------------


class Raises(Strategy):
    def on_quote(self, quote: Quote) -> None:
        raise ValueError("bug")


def test_one_traceback_then_a_count_then_the_strategy_is_stopped(caplog: Any) -> None:
    s = Raises(symbols=["AAPL"])
    ctx = started(s)
    with caplog.at_level(logging.ERROR):
        ctx.feed([q("AAPL", 99.99, 100.01)] * 30)
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1
    assert ctx.counters.strategy_errors["Raises"] == 20  # stopped at the budget: no more calls
    assert "stopped after 20 errors" in ctx.core.health["Raises"].stopped
    handle = s.buy("AAPL", 1)  # a stopped strategy may look but not trade
    assert handle.denied is not None
    assert "is stopped" in handle.denied


def test_ended_orders_are_forgotten_beyond_the_bound() -> None:
    s = Recorder(symbols=["AAPL"])
    ctx = FakeContext(s, risk=RiskConfig(price_band_pct=50, max_orders_per_second=1e6))
    ctx.core.keep_ended = 5
    ctx.start()
    for _ in range(12):
        s.todo.append(lambda st: st.buy("AAPL", 1))
        ctx.feed([q("AAPL", 99.99, 100.01)])
    assert s.position("AAPL").qty == 12
    assert len(ctx.core.handles) == 5
    assert len(ctx.core.owner) == 5


# -- start and stop (finding 4) --------------------------------------------------------------


class Log(Strategy):
    def __init__(self, *, fail: bool = False, **kw: Any) -> None:
        super().__init__(**kw)
        self.fail = fail
        self.calls: list[str] = []

    def on_start(self) -> None:
        self.calls.append("start")
        if self.fail:
            raise RuntimeError("no config")

    def on_stop(self) -> None:
        self.calls.append("stop")


def test_on_start_raising_is_a_strategy_error_and_only_started_strategies_get_on_stop() -> None:
    ok, bad = Log(symbols=["AAPL"], name="ok"), Log(symbols=["AAPL"], name="bad", fail=True)
    clock = ManualClock()
    core = EngineCore(
        [ok, bad], clock=clock, port=None, ids=ClientOrderIds(), counters=CoreCounters()
    )  # type: ignore[arg-type]
    with pytest.raises(
        StrategyError, match="strategy bad: on_start raised RuntimeError: no config"
    ):
        core.start()
    core.stop("start-up failed")
    assert ok.calls == ["start", "stop"]
    assert bad.calls == ["start"]  # never started: no on_stop on a half-built strategy


# -- the strategy API ------------------------------------------------------------------------


def test_statuses_and_events_are_str_enums_equal_to_the_plain_strings() -> None:
    s = Recorder(symbols=["AAPL"])
    ctx = started(s)
    s.todo.append(lambda st: setattr(st, "h", st.buy("AAPL", 1)))
    ctx.feed([q("AAPL", 99.99, 100.01)])
    assert s.h.status is OrderStatus.FILLED
    assert s.h.status == "filled"
    events = [e for _, e in s.heard]
    assert events[-1] is OrderEventType.FILL
    assert isinstance(events[-1], str)
    assert s.fills == [1.0]


def test_stop_and_bracket_orders_are_built_from_buy_and_sell() -> None:
    s = Recorder(symbols=["AAPL"])
    ctx = started(s)
    s.todo.append(lambda st: st.buy("AAPL", 1, stop_price=101.0))
    s.todo.append(lambda st: st.sell("AAPL", 1, stop_price=99.0, limit_price=98.5))
    s.todo.append(
        lambda st: st.buy("AAPL", 1, limit_price=100.0, take_profit=105.0, stop_loss=95.0)
    )
    ctx.feed([q("AAPL", 99.99, 100.01)])
    stop, stop_limit, bracket = (msgspec.to_builtins(r) for r in ctx.orders)
    assert stop["type"] == "stop"
    assert stop["stop_price"] == "101.00"
    assert stop_limit["type"] == "stop_limit"
    assert stop_limit["limit_price"] == "98.50"
    assert bracket["order_class"] == "bracket"
    assert bracket["take_profit"] == {"limit_price": "105.00"}
    assert bracket["stop_loss"] == {"stop_price": "95.00"}


def test_a_stop_order_rests_until_the_market_crosses_it() -> None:
    s = Recorder(symbols=["AAPL"])
    ctx = started(s)
    s.todo.append(lambda st: setattr(st, "h", st.buy("AAPL", 1, stop_price=101.0)))
    ctx.feed([q("AAPL", 99.99, 100.01)])
    assert s.h.status == "new"  # type: ignore[attr-defined]
    ctx.feed([q("AAPL", 100.99, 101.01)])
    assert s.h.status == "filled"
    assert s.h.filled_avg_price == 101.01


def test_replace_makes_a_new_order_that_the_strategy_owns() -> None:
    s = Recorder(symbols=["AAPL"])
    ctx = started(s)
    s.todo.append(lambda st: setattr(st, "h", st.buy("AAPL", 5, limit_price=95.0)))
    ctx.feed([q("AAPL", 99.99, 100.01)])
    new = s.replace(s.h, limit_price=96.0)  # type: ignore[attr-defined]
    assert new is not None
    assert new.replaces == s.h.client_order_id
    assert s.h.status == "replaced"  # type: ignore[attr-defined]
    assert [h.client_order_id for h in s.open_orders()] == [new.client_order_id]
    assert new.limit_price == 96.0
    assert new.status == "new"
    ctx.feed([q("AAPL", 94.99, 95.99)])
    assert new.status == "filled"
    assert s.position("AAPL").qty == 5


def test_cancel_all_close_position_and_close_all() -> None:
    s = Recorder(symbols=["AAPL", "MSFT"])
    ctx = started(s)
    ctx.feed([q("MSFT", 199.99, 200.01)])
    s.todo.append(lambda st: st.buy("AAPL", 3))
    s.todo.append(lambda st: st.buy("MSFT", 2))
    s.todo.append(lambda st: st.buy("AAPL", 1, limit_price=90.0))
    ctx.feed([q("AAPL", 99.99, 100.01)])
    assert len(s.open_orders()) == 1
    assert s.cancel_all() == 1
    assert s.open_orders() == []
    closing = s.close_position("AAPL")
    assert closing is not None
    assert closing.side == "sell"
    assert closing.qty == 3
    assert s.position("AAPL").qty == 0
    assert s.close_position("AAPL") is None  # flat: nothing to send
    assert [h.symbol for h in s.close_all()] == ["MSFT"]
    assert s.position("MSFT").qty == 0


def test_last_quote_and_mid() -> None:
    s = Recorder(symbols=["AAPL"])
    ctx = started(s)
    assert s.mid("AAPL") is None
    assert s.last_quote("AAPL") is None
    ctx.feed([q("AAPL", 99.0, 101.0)])
    assert s.mid("AAPL") == 100.0
    assert s.last_quote("AAPL") == q("AAPL", 99.0, 101.0)


def test_a_denial_names_the_rule_and_never_leaves() -> None:
    s = Recorder(symbols=["AAPL"])
    ctx = started(s)
    s.todo.append(lambda st: setattr(st, "h", st.buy("AAPL", 5000)))
    ctx.feed([q("AAPL", 99.99, 100.01)])
    assert s.h.status == "denied"
    assert s.h.denied == "max_qty: 5,000 > 1,000"
    assert ctx.orders == []
    assert ctx.counters.denials_by_reason == {"max_qty": 1}


class Typed(Strategy):
    class Params(msgspec.Struct):
        below: float = 100.0
        size: int = 10


def test_typed_params_refuse_an_unknown_key_by_name() -> None:
    s = Typed(symbols=["AAPL"], params={"below": "99.5"})
    assert s.params.below == 99.5
    assert s.params.size == 10
    with pytest.raises(ConfigError, match="unknown parameter 'sise'"):
        Typed(symbols=["AAPL"], params={"sise": 5})
    with pytest.raises(ConfigError, match="invalid parameters"):
        Typed(symbols=["AAPL"], params={"size": "ten"})


# -- remote mode (a worker) ------------------------------------------------------------------


class Intents:
    """A remote core's port: what a worker would publish."""

    def __init__(self) -> None:
        from tradewire.venues.alpaca.order_builder import build_any

        self.build = build_any
        self.sent: list[str] = []

    def send(self, cid: str, request: object, started_ns: int) -> None:
        self.sent.append(cid)

    def cancel(self, cid: str, broker_id: str) -> None:
        self.sent.append(f"cancel {cid}")


def test_a_remote_core_books_the_gateways_fills_and_denials() -> None:
    s = Recorder(symbols=["AAPL"])
    port = Intents()
    core = EngineCore([s], clock=ManualClock(), port=port, ids=ClientOrderIds())  # type: ignore[arg-type]
    core.account.read(1_000.0, 2_000.0)
    core.start()
    h = s.buy("AAPL", 2, limit_price=100.0)
    assert port.sent == [h.client_order_id]
    core.remote.on_update(
        h.client_order_id,
        "fill",
        status="filled",
        filled_qty=2,
        filled_avg_price=100.0,
        broker_order_id="b1",
        reject_reason=None,
        fill_qty=2,
        fill_price=100.0,
        position_qty=2,
    )
    assert h.status is OrderStatus.FILLED
    assert s.position("AAPL").qty == 2
    assert s.cash == Decimal("800.00")
    assert s.buying_power == Decimal("1800.00")
    denied = s.buy("AAPL", 1, limit_price=100.0)
    core.remote.on_denied(denied.client_order_id, "max_position: 2 + 1 > 2")
    assert denied.status == "denied"
    assert s.heard[-1] == (denied.client_order_id, "denied")
    core.halted = "kill switch"
    assert s.buy("AAPL", 1, limit_price=100.0).denied == "halted: kill switch"


def test_run_on_events_is_the_test_kit_in_one_call() -> None:
    class Dip(Strategy):
        def on_quote(self, quote: Quote) -> None:
            if quote.ask_price < 100 and not self.position(quote.symbol).qty:
                self.buy(quote.symbol, 10)

    ctx = run_on_events(
        Dip(symbols=["AAPL"]),
        [q("AAPL", 100.5, 100.7, T0), q("AAPL", 99.4, 99.6, T0 + 1), q("AAPL", 99.3, 99.5, T0 + 2)],
        risk=RiskConfig(price_band_pct=50),
    )
    assert [r.symbol for r in ctx.orders] == ["AAPL"]
    assert ctx.position("AAPL").qty == 10
    assert [u.event for u in ctx.updates][-1] == "fill"
    assert ctx.clock.time_ns() == (T0 + 2) * 1_000_000  # the data's time, as in a backtest
