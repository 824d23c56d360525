from __future__ import annotations

import pytest

from tradewire.engine.positions import PositionBook


def test_average_cost_and_realized_pnl_on_reduce():
    book = PositionBook()
    book.apply_fill("A", "buy", 10, 100.0)
    book.apply_fill("A", "buy", 10, 110.0)
    assert book.get("A").avg_price == pytest.approx(105.0)
    assert book.apply_fill("A", "sell", 5, 120.0) == pytest.approx(75.0)
    assert book.qty("A") == 15
    assert book.get("A").avg_price == pytest.approx(105.0)


def test_flip_through_zero_realizes_and_reopens_at_fill_price():
    book = PositionBook()
    book.apply_fill("A", "buy", 10, 100.0)
    assert book.apply_fill("A", "sell", 15, 90.0) == pytest.approx(-100.0)
    pos = book.get("A")
    assert (pos.qty, pos.avg_price) == (-5, 90.0)


def test_short_pnl_and_marks():
    book = PositionBook()
    book.apply_fill("A", "sell", 10, 50.0)
    book.mark("A", 45.0)
    assert book.unrealized == pytest.approx(50.0)
    assert book.gross_exposure == pytest.approx(450.0)
    assert book.apply_fill("A", "buy", 10, 40.0) == pytest.approx(100.0)
    assert book.qty("A") == 0


def test_daily_pnl_resets_realized_baseline():
    book = PositionBook()
    book.apply_fill("A", "buy", 1, 10.0)
    book.apply_fill("A", "sell", 1, 12.0)
    assert book.daily_pnl == pytest.approx(2.0)
    book.start_new_day()
    assert book.daily_pnl == pytest.approx(0.0)


def test_totals_follow_fills_marks_and_adoption():
    # The sums are kept between changes (risk reads them on every order): every change
    # must show in them.
    book = PositionBook()
    book.apply_fill("A", "buy", 10, 100.0)
    assert book.gross_exposure == 1000.0
    book.mark("A", 110.0)
    assert book.unrealized == 100.0
    assert book.gross_exposure == 1100.0
    book.apply_fill("A", "sell", 5, 120.0)
    assert book.realized == 100.0
    book.apply_correction("B", -3, 50.0)
    assert book.gross_exposure == 5 * 110.0 + 3 * 50.0


def test_daily_pnl_restarts_at_the_session_boundary():
    # max_daily_loss was a lifetime limit: nothing ever started a new day.
    book = PositionBook()
    book.apply_fill("A", "buy", 10, 100.0)
    book.mark("A", 90.0)
    assert book.daily_pnl == -100.0
    book.start_new_day()
    assert book.daily_pnl == 0.0
    book.mark("A", 85.0)
    assert book.daily_pnl == -50.0
