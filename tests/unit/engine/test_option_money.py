"""An option contract is 100 shares of premium (issue 24): positions count contracts, every
money figure (cash, P&L, exposure, working notional, the risk notional) goes through the
multiplier. Before, 2 contracts bought at 1.50 cost $3.00 and risked $3.00."""

from __future__ import annotations

import pytest

from tradewire.engine import orders as o
from tradewire.engine.account import Account
from tradewire.engine.config import RiskConfig
from tradewire.engine.positions import PositionBook
from tradewire.engine.risk import Denied, RiskEngine

PUT = "SPY260731P00395000"


def test_the_book_counts_contracts_and_money_through_the_multiplier() -> None:
    book = PositionBook()
    book.apply_fill(PUT, "buy", 2, 1.50)
    book.mark(PUT, 1.75)
    pos = book.get(PUT)
    assert pos.qty == 2  # contracts
    assert pos.unrealized == pytest.approx(2 * 0.25 * 100)
    assert book.gross_exposure == pytest.approx(2 * 1.75 * 100)
    realized = book.apply_fill(PUT, "sell", 1, 2.00)
    assert realized == pytest.approx(0.50 * 100)
    # a stock beside it is unchanged
    book.apply_fill("SPY", "buy", 10, 400.0)
    assert book.get("SPY").exposure == pytest.approx(4000.0)


def test_cash_and_equity_move_by_the_premium_times_the_multiplier() -> None:
    account = Account(cash=10_000.0)
    book = PositionBook()
    account.on_fill("s", PUT, "buy", 2, 1.50)
    book.apply_fill(PUT, "buy", 2, 1.50)
    assert account.cash == pytest.approx(10_000.0 - 300.0)
    assert account.equity(book, {PUT: 2.0}) == pytest.approx(9_700.0 + 400.0)
    assert account.pnl("s", {PUT: 2.0}) == pytest.approx((0.0, 100.0))


def test_working_option_orders_count_their_notional_through_the_multiplier() -> None:
    oms = o.OrderManager()
    oms.create(o.Order("c1", PUT, "buy", 3, "limit", 2.0, ref_price=2.0))
    assert oms.working_notional == pytest.approx(600.0)
    oms.apply("c1", o.Sent())
    oms.apply("c1", o.Canceled())
    assert oms.working_notional == 0.0


def test_risk_checks_an_option_order_at_its_premium_times_the_multiplier() -> None:
    risk = RiskEngine(RiskConfig(max_order_notional=500.0))
    verdict = risk.check(
        symbol=PUT,
        side="buy",
        qty=3,
        price=2.0,
        mid=2.0,
        position=0.0,
        open_orders=0,
        gross_exposure=0.0,
        daily_pnl=0.0,
        now_ns=1,
    )
    assert isinstance(verdict, Denied)
    assert "600" in verdict.detail
