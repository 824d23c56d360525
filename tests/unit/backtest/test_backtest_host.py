"""The backtest host on the engine core: what a strategy saw differ from live before the core
(issue 21, findings 1-4) now behaves as live does."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradewire import Quote, Strategy, StrategyError
from tradewire.backtest.broker import BacktestBroker
from tradewire.backtest.latency import parse_latency_model
from tradewire.backtest.node import BacktestNode
from tradewire.engine.config import RiskConfig
from tradewire.engine.journal.store import Journal

T0 = 1_767_268_800_000_000_000  # 2026-01-01 12:00 UTC


def quotes(n: int, *, step_s: float = 1.0, bid: float = 99.99, ask: float = 100.01) -> list[Any]:
    return [(T0 + int(i * step_s * 1e9), [Quote("AAPL", bid, ask, 1, 1)]) for i in range(n)]


def node(tmp_path: Path, strategy: Strategy, latency: str = "zero") -> BacktestNode:
    return BacktestNode(
        [strategy],
        journal=Journal(tmp_path / "bt.twj", fsync="never"),
        broker=BacktestBroker(fill_model="touch", seed=0, starting_cash=Decimal(10_000)),
        latency=parse_latency_model(latency),
        risk_config=RiskConfig(price_band_pct=50),
        starting_cash=10_000.0,
    )


class CancelsItsTimer(Strategy):
    def on_start(self) -> None:
        self.ran: list[str] = []
        timer = self.call_later(2.0, lambda: self.ran.append("cancelled one"))
        timer.cancel()  # on main before the core: AttributeError, None has no cancel
        self.call_later(2.0, lambda: self.ran.append("kept"))


@pytest.mark.parametrize("latency", ["zero", "constant:500,800"])
def test_a_strategy_can_cancel_its_timer_in_a_backtest(tmp_path: Path, latency: str) -> None:
    s = CancelsItsTimer(symbols=["AAPL"])
    node(tmp_path, s, latency).run(quotes(5))
    assert s.ran == ["kept"]


class BuysAndReadsCash(Strategy):
    def on_start(self) -> None:
        self.seen: list[tuple[Decimal, Decimal, Decimal]] = []

    def on_quote(self, quote: Quote) -> None:
        if not self.open_orders() and not self.position("AAPL").qty:
            self.buy("AAPL", 10)

    def on_fill(self, update: Any) -> None:
        self.seen.append((self.cash, self.buying_power, self.equity))


def test_cash_moves_with_fills_in_a_backtest(tmp_path: Path) -> None:
    s = BuysAndReadsCash(symbols=["AAPL"])
    node(tmp_path, s).run(quotes(3))
    # before the core: cash stayed 10,000 and no host had equity or buying power
    assert s.seen == [(Decimal("8999.90"), Decimal("8999.90"), Decimal("9999.90"))]


class FailsToStart(Strategy):
    def on_start(self) -> None:
        raise KeyError("threshold")

    def on_stop(self) -> None:
        raise AssertionError("on_stop of a strategy that never started")


def test_on_start_raising_is_a_strategy_error_in_a_backtest(tmp_path: Path) -> None:
    with pytest.raises(StrategyError, match="on_start raised KeyError"):
        node(tmp_path, FailsToStart(symbols=["AAPL"])).run(quotes(3))


class AlwaysRaises(Strategy):
    def on_quote(self, quote: Quote) -> None:
        raise ValueError("bug")


def test_the_error_budget_stops_a_strategy_in_a_backtest_as_live(tmp_path: Path) -> None:
    n = node(tmp_path, AlwaysRaises(symbols=["AAPL"]))
    n.run(quotes(50, step_s=0.1))
    assert n.strategy_errors == 20  # the live budget: 20 in 60 s, then stopped
    assert "stopped after 20 errors" in n.core.health["AlwaysRaises"].stopped
