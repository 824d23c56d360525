from __future__ import annotations

import pytest

from tradewire.engine.config import RiskConfig
from tradewire.engine.risk import APPROVED, Denied, DenyReason, RiskEngine, TradingState

SEC = 1_000_000_000


def check(engine: RiskEngine, **overrides):
    args = {"symbol": "A", "side": "buy", "qty": 10, "price": 100.0, "mid": 100.0, "position": 0.0,
            "open_orders": 0, "gross_exposure": 0.0, "daily_pnl": 0.0, "now_ns": 10 * SEC}  # fmt: skip
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
)  # fmt: skip
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
