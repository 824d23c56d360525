"""Options pre-trade risk (issue 24): contracts, premium, naked shorts, worst-case notional
and Alpaca's options levels, for single-leg and multi-leg (mleg) orders."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tradewire.engine.config import OptionsRiskConfig, RiskConfig
from tradewire.engine.options import occ_symbol
from tradewire.engine.options_risk import LegOrder, OptionsRisk
from tradewire.engine.risk import Denied, DenyReason

# Every case on the native risk rules and on their pure-Python twin (issue 26).
pytestmark = pytest.mark.usefixtures("order_path")

JUL = date(2026, 7, 31)
AUG = date(2026, 8, 28)
JUN = date(2026, 6, 26)
DAY = "2026-07-01"


def call(strike: float, expiry: date = JUL, root: str = "SPY") -> str:
    return occ_symbol(root, expiry, "call", strike)


def put(strike: float, expiry: date = JUL, root: str = "SPY") -> str:
    return occ_symbol(root, expiry, "put", strike)


def buy(symbol: str, contracts: float = 1) -> LegOrder:
    return LegOrder(symbol, "buy", contracts)


def sell(symbol: str, contracts: float = 1) -> LegOrder:
    return LegOrder(symbol, "sell", contracts)


def check(
    risk: OptionsRisk,
    legs: list[LegOrder],
    *,
    limit_price: float | None = None,
    mids: Mapping[str, float] | None = None,
    positions: Mapping[str, float] | None = None,
    working: Mapping[str, tuple[float, float]] | None = None,
    level: int | None = 3,
    day: str = DAY,
    qty: float | None = None,
) -> Denied | None:
    held = dict(positions or {})
    open_ = dict(working or {})
    return risk.check(
        legs=legs,
        limit_price=limit_price,
        mids=mids or {},
        position=lambda s: held.get(s, 0.0),
        working=lambda s: open_.get(s, (0.0, 0.0)),
        level=level,
        day=day,
        qty=qty if qty is not None else legs[0].contracts,
    )


def make(**overrides: Any) -> OptionsRisk:
    return OptionsRisk(OptionsRiskConfig(**overrides))


def denied(verdict: Denied | None, reason: DenyReason) -> str:
    assert isinstance(verdict, Denied), verdict
    assert verdict.reason is reason, verdict
    assert verdict.scope == "options"
    return verdict.detail


# -- config ------------------------------------------------------------------------------


def test_defaults_are_sized_for_the_paper_account() -> None:
    c = RiskConfig().options
    assert isinstance(c, OptionsRiskConfig)
    assert (c.max_contracts_per_order, c.max_contracts_per_position) == (10, 20)
    assert (c.max_premium_per_order, c.max_premium_per_day) == (5_000, 20_000)
    assert c.max_order_notional == 50_000
    assert c.allow_naked is False


@pytest.mark.parametrize(
    "options", [{"max_contracts_per_order": 0}, {"max_premium_per_day": -1}, {"naked": True}]
)
def test_the_options_config_is_strict(options: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RiskConfig.model_validate({"options": options})


def test_the_shipped_config_names_the_defaults() -> None:
    from tradewire.app.config import load_config

    root = Path(__file__).resolve().parents[3]
    assert load_config(root / "config" / "trading_apis.yaml").risk.options == OptionsRiskConfig()


# -- contracts per order and per position ------------------------------------------------


def test_contracts_per_order() -> None:
    risk = make(max_premium_per_order=1e9, max_premium_per_day=1e9, max_order_notional=1e9)
    assert check(risk, [buy(call(400), 10)], limit_price=1.0) is None
    detail = denied(check(risk, [buy(call(400), 11)], limit_price=1.0), DenyReason.MAX_CONTRACTS)
    assert detail == "SPY260731C00400000: 11 contracts > 10 per order"


def test_contracts_per_order_count_each_legs_ratio() -> None:
    risk = make(max_premium_per_order=1e9, max_premium_per_day=1e9)
    legs = [buy(call(400), 6), sell(call(410), 12)]  # a 1x2 ratio spread, qty 6
    detail = denied(
        check(risk, legs, limit_price=0.5, qty=6, positions={"SPY": 1200}),
        DenyReason.MAX_CONTRACTS,
    )
    assert detail == "SPY260731C00410000: 12 contracts > 10 per order"


def test_contracts_per_position_count_working_orders() -> None:
    risk = make()
    sym = call(400)
    assert check(risk, [buy(sym, 5)], limit_price=1.0, positions={sym: 10}) is None
    detail = denied(
        check(risk, [buy(sym, 5)], limit_price=1.0, positions={sym: 10}, working={sym: (6, 0)}),
        DenyReason.MAX_POSITION,
    )
    assert detail == "SPY260731C00400000: 21 contracts with working orders, beyond 20"


def test_a_leg_that_reduces_a_position_is_not_held_to_the_position_limit() -> None:
    risk = make()
    sym = put(390)
    assert check(risk, [sell(sym, 5)], limit_price=1.0, positions={sym: 30}) is None
    # From 25 short, buying 10 reduces; selling 10 more from 15 short grows it past 20.
    assert check(risk, [buy(sym, 10)], limit_price=1.0, positions={sym: -25}) is None
    denied(
        check(risk, [sell(sym, 10)], limit_price=1.0, positions={sym: -15}),
        DenyReason.MAX_POSITION,
    )


# -- premium per order and per day -------------------------------------------------------


def test_premium_per_order_is_the_debit_through_the_multiplier() -> None:
    risk = make()
    assert check(risk, [buy(call(400), 10)], limit_price=5.0) is None  # 5 x 10 x 100 = 5,000
    detail = denied(check(risk, [buy(call(400), 10)], limit_price=5.01), DenyReason.MAX_PREMIUM)
    assert detail == "debit 5,010.00 > 5,000.00 per order"


def test_a_market_order_is_priced_at_the_legs_mids() -> None:
    risk = make()
    long, short = call(400), call(410)
    mids = {long: 9.0, short: 3.0}  # net debit 6.00 x 9 x 100 = 5,400
    detail = denied(
        check(risk, [buy(long, 9), sell(short, 9)], mids=mids, qty=9), DenyReason.MAX_PREMIUM
    )
    assert detail == "debit 5,400.00 > 5,000.00 per order"
    assert check(risk, [buy(long, 8), sell(short, 8)], mids=mids, qty=8) is None


def test_a_market_order_without_a_mid_is_denied() -> None:
    detail = denied(check(make(), [buy(call(400))], mids={}), DenyReason.NO_REFERENCE_PRICE)
    assert detail == "no mid for SPY260731C00400000"


def test_premium_per_day_counts_what_was_paid_and_resets_on_a_new_day() -> None:
    risk = make()
    order = [buy(call(400), 10)]
    for _ in range(3):
        assert check(risk, order, limit_price=5.0) is None
        risk.on_filled_premium(DAY, 5_000)
    assert check(risk, order, limit_price=5.0) is None  # 15,000 + 5,000 = the cap
    risk.on_filled_premium(DAY, 4_000)
    detail = denied(check(risk, order, limit_price=1.01), DenyReason.DAILY_PREMIUM)
    assert detail == "paid 19,000.00 today + debit 1,010.00 > 20,000.00 per day"
    assert check(risk, order, limit_price=1.0) is None
    # A new session day starts from zero.
    assert check(risk, order, limit_price=5.0, day="2026-07-02") is None
    risk.on_filled_premium("2026-07-02", 100)
    assert risk.premium_today("2026-07-02") == 100


def test_a_credit_order_pays_no_premium() -> None:
    risk = make()
    risk.on_filled_premium(DAY, 20_000)
    legs = [sell(put(400)), buy(put(395))]  # a put credit spread
    assert check(risk, legs, limit_price=-1.5, qty=1) is None


def test_a_non_finite_premium_fails_closed_for_the_day() -> None:
    risk = make()
    risk.on_filled_premium(DAY, math.nan)
    denied(check(risk, [buy(call(400))], limit_price=0.1), DenyReason.DAILY_PREMIUM)
    assert check(risk, [buy(call(400))], limit_price=0.1, day="2026-07-02") is None
    # A credit still passes: it pays no premium.
    assert check(risk, [sell(put(400)), buy(put(395))], limit_price=-1.0, qty=1) is None


# -- naked shorts ------------------------------------------------------------------------


def test_a_naked_short_call_is_denied() -> None:
    detail = denied(check(make(), [sell(call(420), 2)], limit_price=1.0), DenyReason.NAKED_SHORT)
    assert (
        detail == "SPY260731C00420000: 2 short calls, 0 covered (by 0 long calls, 0 shares of SPY)"
    )


def test_a_covered_call_needs_the_multiplier_in_shares() -> None:
    risk = make()
    assert check(risk, [sell(call(420), 2)], limit_price=1.0, positions={"SPY": 200}) is None
    detail = denied(
        check(risk, [sell(call(420), 2)], limit_price=1.0, positions={"SPY": 199}),
        DenyReason.NAKED_SHORT,
    )
    assert (
        detail
        == "SPY260731C00420000: 2 short calls, 1 covered (by 0 long calls, 199 shares of SPY)"
    )
    # Shares a working order may sell cover nothing.
    denied(
        check(
            risk,
            [sell(call(420), 2)],
            limit_price=1.0,
            positions={"SPY": 200},
            working={"SPY": (0, 100)},
        ),
        DenyReason.NAKED_SHORT,
    )


def test_growing_a_short_call_needs_cover_for_all_of_it() -> None:
    risk = make()
    sym = call(420)
    positions = {sym: -2, "SPY": 300}
    denied(
        check(risk, [sell(sym, 2)], limit_price=1.0, positions=positions), DenyReason.NAKED_SHORT
    )
    assert check(risk, [sell(sym, 1)], limit_price=1.0, positions=positions) is None


def test_selling_a_held_long_call_is_not_a_short() -> None:
    sym = call(420)
    assert check(make(), [sell(sym, 3)], limit_price=1.0, positions={sym: 3}, level=1) is None


def test_a_call_credit_spread_is_covered_by_its_long_leg_at_any_strike() -> None:
    risk = make()
    legs = [sell(call(400), 2), buy(call(410), 2)]  # bear call: max loss (10 x 100 - credit) x 2
    assert check(risk, legs, limit_price=-3.0, qty=2) is None


def test_a_long_call_of_an_earlier_expiry_does_not_cover() -> None:
    risk = make()
    legs = [sell(call(400, JUL)), buy(call(410, JUN))]
    denied(check(risk, legs, limit_price=-1.0, qty=1), DenyReason.NAKED_SHORT)
    # A later expiry covers (a diagonal).
    assert check(risk, [sell(call(400, JUL)), buy(call(410, AUG))], limit_price=-1.0, qty=1) is None


def test_a_long_call_of_another_underlying_does_not_cover() -> None:
    legs = [sell(call(400)), buy(call(410, root="QQQ"))]
    denied(check(make(), legs, limit_price=-1.0, qty=1), DenyReason.NAKED_SHORT)


def test_allow_naked_counts_the_underlying_at_its_mid() -> None:
    risk = make(allow_naked=True)
    sym = call(420)
    assert check(risk, [sell(sym, 1)], limit_price=1.0, mids={"SPY": 400.0}) is None
    detail = denied(
        check(risk, [sell(sym, 2)], limit_price=1.0, mids={"SPY": 400.0}), DenyReason.MAX_NOTIONAL
    )
    assert detail == "worst case 80,000.00 > 50,000.00 per order"
    denied(check(risk, [sell(sym, 1)], limit_price=1.0), DenyReason.NO_REFERENCE_PRICE)


def test_a_short_put_without_a_long_put_is_cash_secured() -> None:
    risk = make()
    # Level 1 writes cash-secured puts; the cash is strike x multiplier x contracts.
    assert check(risk, [sell(put(400))], limit_price=2.0, level=1) is None
    detail = denied(check(risk, [sell(put(400), 2)], limit_price=2.0), DenyReason.MAX_NOTIONAL)
    assert detail == "worst case 80,000.00 > 50,000.00 per order"


# -- worst-case notional -----------------------------------------------------------------


def test_a_put_credit_spread_risks_its_width_less_the_credit() -> None:
    risk = make(max_order_notional=4_000)
    legs = [sell(put(400), 10), buy(put(395), 10)]  # (5 x 100 - 1.2 x 100) x 10 = 3,800
    assert check(risk, legs, limit_price=-1.2, qty=10) is None
    detail = denied(check(risk, legs, limit_price=-0.8, qty=10), DenyReason.MAX_NOTIONAL)
    assert detail == "worst case 4,200.00 > 4,000.00 per order"


def test_a_call_debit_spread_risks_its_debit() -> None:
    risk = make(max_order_notional=1_000, max_premium_per_order=1e9)
    legs = [buy(call(400), 4), sell(call(410), 4)]  # 2.5 x 4 x 100 = 1,000
    assert check(risk, legs, limit_price=2.5, qty=4) is None
    detail = denied(check(risk, legs, limit_price=2.6, qty=4), DenyReason.MAX_NOTIONAL)
    assert detail == "worst case 1,040.00 > 1,000.00 per order"


def test_an_iron_condor_risks_its_widest_side_not_both() -> None:
    risk = make(max_order_notional=1_000)
    legs = [
        buy(put(380), 2),
        sell(put(390), 2),
        sell(call(410), 2),
        buy(call(415), 2),
    ]  # max(10, 5) x 100 x 2 - 1.5 x 100 x 2 = 1,700
    detail = denied(check(risk, legs, limit_price=-1.5, qty=2), DenyReason.MAX_NOTIONAL)
    assert detail == "worst case 1,700.00 > 1,000.00 per order"
    assert check(make(max_order_notional=1_700), legs, limit_price=-1.5, qty=2) is None


def test_put_and_call_pairs_whose_short_strikes_overlap_add_up() -> None:
    risk = make(max_order_notional=1_500)
    legs = [sell(call(390)), buy(call(400)), sell(put(410)), buy(put(400))]
    detail = denied(check(risk, legs, limit_price=-1.0, qty=1), DenyReason.MAX_NOTIONAL)
    assert detail == "worst case 1,900.00 > 1,500.00 per order"  # (10 + 10) x 100 - 100


def test_two_verticals_on_the_same_side_add_up() -> None:
    risk = make(max_order_notional=1_500)
    legs = [sell(call(400)), buy(call(410)), sell(call(420)), buy(call(430))]
    detail = denied(check(risk, legs, limit_price=-0.5, qty=1), DenyReason.MAX_NOTIONAL)
    assert detail == "worst case 1,950.00 > 1,500.00 per order"


# -- options levels ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("legs", "positions", "needs"),
    [
        ([buy(call(400))], {}, 2),  # buy a call
        ([buy(put(400))], {}, 2),  # buy a put
        ([sell(call(400))], {"SPY": 100}, 1),  # covered call
        ([sell(put(400))], {}, 1),  # cash-secured put
        ([sell(call(400))], {call(400): 1}, 1),  # sell to close
        ([buy(call(400))], {call(400): -1, "SPY": 100}, 1),  # buy to close
        ([buy(call(400)), sell(call(410))], {}, 3),  # a spread
        ([buy(call(400)), buy(put(390))], {}, 2),  # a long strangle: buys only
    ],
)
def test_levels(legs: list[LegOrder], positions: dict[str, float], needs: int) -> None:
    risk = make(max_premium_per_order=1e9)
    limit = 1.0 if len(legs) == 1 else 0.5
    assert check(risk, legs, limit_price=limit, positions=positions, level=needs) is None
    assert check(risk, legs, limit_price=limit, positions=positions, level=None) is None
    detail = denied(
        check(risk, legs, limit_price=limit, positions=positions, level=needs - 1),
        DenyReason.OPTIONS_LEVEL,
    )
    assert detail.startswith(f"needs options level {needs}, the account has {needs - 1}")


def test_level_zero_trades_no_options() -> None:
    detail = denied(
        check(make(), [sell(put(400))], limit_price=1.0, level=0), DenyReason.OPTIONS_LEVEL
    )
    assert detail == "needs options level 1, the account has 0 (cash-secured put)"


def test_a_naked_call_allowed_by_config_still_needs_the_top_level() -> None:
    risk = make(allow_naked=True)
    args: dict[str, Any] = {"limit_price": 1.0, "mids": {"SPY": 400.0}}
    assert check(risk, [sell(call(420))], level=3, **args) is None
    denied(check(risk, [sell(call(420))], level=2, **args), DenyReason.OPTIONS_LEVEL)


# -- invalid input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("legs", "overrides"),
    [
        ([buy(call(400), math.nan)], {}),
        ([buy(call(400), -1)], {"qty": -1}),
        ([buy(call(400), 1)], {"qty": 0}),
        ([buy(call(400), 1.5)], {"qty": 1.5}),  # contracts are whole
        ([buy(call(400), 2), sell(call(410), 3)], {"qty": 2}),  # 3 is no ratio of 2
        ([buy(call(400))], {"limit_price": math.nan}),
        ([buy(call(400))], {"limit_price": -1.0}),  # a single leg's premium is > 0
        ([buy(call(400))], {"limit_price": math.inf}),
        ([buy(call(400))], {"limit_price": None, "mids": {call(400): math.nan}}),
        ([buy(call(400))], {"positions": {call(400): math.nan}}),
        ([buy(call(400))], {"working": {call(400): (math.inf, 0)}}),
        ([sell(call(400))], {"positions": {"SPY": math.nan}}),
    ],
)
def test_invalid_numbers_are_denied(legs: list[LegOrder], overrides: dict[str, Any]) -> None:
    args: dict[str, Any] = {"limit_price": 1.0}
    args.update(overrides)
    denied(check(make(), legs, **args), DenyReason.INVALID_NUMBER)


@pytest.mark.parametrize(
    "legs",
    [
        [],
        [buy(call(400)), sell(call(405)), buy(call(410)), sell(call(415)), buy(call(420))],
        [buy(call(400)), sell(call(400))],  # one symbol twice
        [LegOrder(call(400), "short", 1)],
        [buy("SPY")],  # not an option
    ],
)
def test_malformed_legs_are_denied(legs: list[LegOrder]) -> None:
    verdict = check(make(), legs, limit_price=1.0, qty=1)
    denied(verdict, DenyReason.INVALID_LEGS)


def test_the_denial_reads_as_one_line() -> None:
    verdict = check(make(), [buy(call(400), 11)], limit_price=1.0)
    assert (
        str(verdict) == "max_contracts (options): SPY260731C00400000: 11 contracts > 10 per order"
    )
