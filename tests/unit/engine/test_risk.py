from __future__ import annotations

import pytest

from tradewire.engine.config import RiskConfig
from tradewire.engine.risk import APPROVED, Denied, DenyReason, RiskEngine, TradingState

# Every case on the native risk rules and on their pure-Python twin (issue 26).
pytestmark = pytest.mark.usefixtures("order_path")

SEC = 1_000_000_000


def check(engine: RiskEngine, **overrides):
    args = {
        "symbol": "A",
        "side": "buy",
        "qty": 10,
        "price": 100.0,
        "mid": 100.0,
        "position": 0.0,
        "open_orders": 0,
        "gross_exposure": 0.0,
        "daily_pnl": 0.0,
        "now_ns": 10 * SEC,
    }
    args.update(overrides)
    return engine.check(**args)


def engine(**cfg) -> RiskEngine:
    return RiskEngine(RiskConfig(**cfg))


def test_approve_path_returns_the_constant():
    assert check(engine()) is APPROVED


@pytest.mark.parametrize(
    ("cfg", "overrides", "reason"),
    [
        ({}, {"open_orders": 50}, DenyReason.MAX_OPEN_ORDERS),
        ({"max_order_qty": 5}, {}, DenyReason.MAX_QTY),
        ({"max_order_notional": 500}, {}, DenyReason.MAX_NOTIONAL),
        ({}, {"price": 110.0}, DenyReason.PRICE_BAND),
        ({}, {"price": None, "mid": None}, DenyReason.NO_REFERENCE_PRICE),
        ({"max_position_qty": 15}, {"position": 10.0}, DenyReason.MAX_POSITION),
        ({"max_gross_exposure": 1500}, {"gross_exposure": 1000.0}, DenyReason.GROSS_EXPOSURE),
        ({"max_daily_loss": 100}, {"daily_pnl": -101.0}, DenyReason.DAILY_LOSS),
    ],
)
def test_each_limit_denies_with_its_reason(cfg, overrides, reason):
    e = engine(**cfg)
    verdict = check(e, **overrides)
    assert isinstance(verdict, Denied)
    assert verdict.reason is reason
    assert e.denials[reason] == 1


def test_reducing_order_passes_position_and_loss_limits():
    e = engine(max_position_qty=15, max_daily_loss=100)
    assert check(e, side="sell", position=20.0, daily_pnl=-500.0) is APPROVED


def test_throttle_with_injected_time():
    e = engine(max_orders_per_second=2)
    assert check(e, now_ns=SEC) is APPROVED
    assert check(e, now_ns=SEC) is APPROVED
    assert check(e, now_ns=SEC).reason is DenyReason.THROTTLE
    assert check(e, now_ns=SEC + SEC // 2) is APPROVED


def test_kill_switch_and_halt_deny_everything_and_stay():
    e = engine()
    e.engage_kill_switch("test", 1)
    assert check(e).reason is DenyReason.KILL_SWITCH
    e.set_state(TradingState.ACTIVE)
    assert e.state is TradingState.HALTED


def test_reducing_state_allows_only_reducing_orders():
    e = engine()
    e.set_state(TradingState.REDUCING, "test")
    assert check(e, side="buy", position=0.0).reason is DenyReason.REDUCING_ONLY
    assert check(e, side="sell", position=20.0) is APPROVED


def test_circuit_breaker_halts_after_rejects_in_window():
    e = engine(max_rejects_in_window=3, reject_window_s=10)
    assert not e.on_reject(1 * SEC)
    assert not e.on_reject(2 * SEC)
    assert e.on_reject(3 * SEC)
    assert e.state is TradingState.HALTED
    assert check(e).reason is DenyReason.HALTED


def test_stale_feed_reduces_then_recovers():
    e = engine()
    e.on_stale_feed("10s")
    assert e.state is TradingState.REDUCING
    e.on_feed_recovered()
    assert e.state is TradingState.ACTIVE


# -- exposure: working orders count as if they all fill (issue 10, finding 2) ------------------


def test_working_buys_count_against_max_position():
    # Arrange: 2,000 shares of buys already working, no position yet
    e = engine(max_position_qty=2_000)

    # Act
    verdict = check(e, qty=300, working=[1_800.0, 0.0])

    # Assert: the worst case (every working order fills) is 2,100 > 2,000
    assert isinstance(verdict, Denied)
    assert verdict.reason is DenyReason.MAX_POSITION


def test_working_notional_counts_against_gross_exposure():
    e = engine(max_gross_exposure=250_000, max_position_qty=100_000)
    verdict = check(e, qty=300, price=144.0, mid=144.0, working_notional=240_000.0)
    assert isinstance(verdict, Denied)
    assert verdict.reason is DenyReason.GROSS_EXPOSURE


def test_reducing_is_judged_against_position_plus_working_orders():
    # Arrange: long 300 with one sell of 300 already working
    e = engine(max_position_qty=100)
    e.set_state(TradingState.REDUCING, "test")

    # Act: a second sell of 300 would take the position to -300 once both fill
    verdict = check(e, side="sell", qty=300, position=300.0, working=[0.0, 300.0])

    # Assert
    assert isinstance(verdict, Denied)
    assert verdict.reason is DenyReason.REDUCING_ONLY


def test_sells_beyond_position_with_working_sells_hit_max_position():
    # From +300, fifteen sells of 300 used to pass one by one (each "reduced" the position)
    e = engine(max_position_qty=2_000, max_orders_per_second=1_000, max_open_orders=1_000)
    working_sell = 0.0
    approved = 0
    for _ in range(15):
        if check(e, side="sell", qty=300, position=300.0, working=[0.0, working_sell]) is APPROVED:
            approved += 1
            working_sell += 300
    assert 300 - working_sell >= -2_000
    assert approved == 7


def test_no_quote_denies_a_limit_order():
    # `sell 1000 @ 0.01` in on_start, before any quote, used to pass the band check
    e = engine()
    verdict = check(e, side="sell", qty=1000, price=0.01, mid=None)
    assert isinstance(verdict, Denied)
    assert verdict.reason is DenyReason.NO_REFERENCE_PRICE


def test_notional_uses_the_worse_of_limit_and_reference():
    e = engine(max_order_notional=50_000, price_band_pct=100)
    verdict = check(e, side="sell", qty=1000, price=0.01, mid=144.0)
    assert isinstance(verdict, Denied)
    assert verdict.reason is DenyReason.MAX_NOTIONAL


@pytest.mark.parametrize(
    "overrides",
    [
        {"mid": float("inf")},
        {"mid": float("nan")},
        {"price": float("nan")},
        {"price": float("inf")},
        {"qty": float("nan")},
        {"qty": float("inf")},
        {"qty": -5.0},
        {"qty": 0.0},
        {"price": -1.0},
        {"daily_pnl": float("nan")},
        {"position": float("nan")},
    ],
)
def test_non_finite_or_non_positive_numbers_are_denied(overrides):
    verdict = check(engine(price_band_pct=1e9), **overrides)
    assert isinstance(verdict, Denied)
    assert verdict.reason is DenyReason.INVALID_NUMBER


# -- issue 22, item 14: a denial's numbers read as a user wrote them --------------------------


@pytest.mark.parametrize(
    ("cfg", "overrides", "detail"),
    [
        ({"max_order_qty": 5}, {}, "10 > 5"),
        ({"max_position_qty": 15}, {"position": 10.0}, "20 with working orders, beyond 15"),
        ({}, {"price": 110.0, "mid": 100.1 + 0.2}, "9.67% from reference 100.30"),
    ],
)
def test_denial_details_show_no_float_artefacts(cfg, overrides, detail):
    verdict = check(engine(**cfg), **overrides)
    assert isinstance(verdict, Denied)
    assert verdict.detail == detail
