"""Exercise, assignment and expiry of options on the simulated broker (issue 24)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from tests.unit.sim.broker.option_helpers import (
    CALL_500,
    CALL_510,
    EXPIRY,
    PUT_490,
    book,
    order,
    quote,
)

from tradewire.sim.broker import expiry, wire
from tradewire.sim.broker.orders import OrderError, asset_id_for

D = Decimal


def _held(b, symbol: str, qty: int) -> None:  # type: ignore[no-untyped-def]
    side = "buy" if qty > 0 else "sell"
    b.activate(
        b.submit(order(symbol=symbol, side=side, qty=abs(qty), type="market", limit_price=None))
    )


def test_exercising_a_call_delivers_shares_at_the_strike() -> None:
    b = book()
    _held(b, CALL_500, 2)
    cash = b.cash
    activity = expiry.exercise(b, CALL_500)
    assert CALL_500 not in b.positions
    spy = b.positions["SPY"]
    assert (spy.qty, spy.avg_entry_price) == (200, 500)
    assert b.cash == cash - D(100000)
    assert (activity.activity_type, activity.qty, activity.net_amount) == ("OPEXC", -2, D(-100000))
    got = wire.option_activity_json(activity)
    assert (got["activity_type"], got["symbol"], got["qty"]) == ("OPEXC", CALL_500, "-2")


def test_exercising_a_put_by_contract_id_takes_shares_away() -> None:
    b = book()
    _held(b, PUT_490, 1)
    cash = b.cash
    expiry.exercise(b, asset_id_for(PUT_490))
    assert b.positions["SPY"].qty == -100
    assert b.cash == cash + D(49000)


@pytest.mark.parametrize(("held", "status"), [(None, 404), (-1, 422)])
def test_exercise_needs_a_long_position(held: int | None, status: int) -> None:
    b = book()
    if held is not None:
        _held(b, CALL_500, held)
    with pytest.raises(OrderError) as exc:
        expiry.exercise(b, CALL_500)
    assert exc.value.status == status


def test_expiry_exercises_assigns_and_expires_at_the_underlying_mid() -> None:
    b = book()
    _held(b, CALL_500, 1)  # ITM at 505: exercised, +100
    _held(b, CALL_510, -1)  # OTM: expires
    _held(b, PUT_490, -2)  # OTM: expires
    b.on_quote(quote("SPY", 504.99, 505.01))
    cash = b.cash
    out = expiry.expire(b, EXPIRY)
    assert sorted((a.activity_type, a.symbol) for a in out) == sorted(
        [("OPEXC", CALL_500), ("OPEXP", CALL_510), ("OPEXP", PUT_490)]
    )
    assert set(b.positions) == {"SPY"}
    assert b.positions["SPY"].qty == 100
    assert b.cash == cash - D(50000)
    assert b.option_activities == out


def test_a_short_itm_call_is_assigned_and_a_short_itm_put_too() -> None:
    b = book()
    _held(b, CALL_500, -1)
    _held(b, PUT_490, -1)
    b.on_quote(quote("SPY", 479.99, 480.01))  # put ITM, call OTM
    (call, put) = sorted(expiry.expire(b, EXPIRY), key=lambda a: a.symbol)
    assert (put.activity_type, call.activity_type) == ("OPASN", "OPEXP")
    assert b.positions["SPY"].qty == 100  # a short put assigned: shares come in at 490
    b2 = book()
    _held(b2, CALL_500, -1)
    b2.on_quote(quote("SPY", 509.99, 510.01))
    (assigned,) = expiry.expire(b2, EXPIRY)
    assert assigned.activity_type == "OPASN"
    assert b2.positions["SPY"].qty == -100


def test_expiry_leaves_later_contracts_alone() -> None:
    b = book()
    _held(b, CALL_500, 1)
    assert expiry.expire(b, EXPIRY - timedelta(days=1)) == []
    assert b.positions[CALL_500].qty == 1


def test_orders_in_expiring_contracts_end_at_the_expiry() -> None:
    # Before, a gtc order in a settled contract kept working and filled later, making a
    # position in a contract that no longer existed (found by the options chaos run).
    b = book()
    resting = b.submit(order(limit_price="1.00", time_in_force="gtc"))
    b.activate(resting)
    spread = b.submit(
        {
            "order_class": "mleg",
            "qty": "1",
            "type": "limit",
            "limit_price": "0.50",
            "time_in_force": "gtc",
            "legs": [
                {"symbol": CALL_500, "ratio_qty": "1", "side": "buy"},
                {"symbol": CALL_510, "ratio_qty": "1", "side": "sell"},
            ],
        }
    )
    b.activate(spread)
    assert resting.is_open
    assert spread.is_open
    execs = expiry.expire_orders(b, EXPIRY)
    assert {e.order.id for e in execs} == {resting.id, spread.id}
    assert {e.event for e in execs} == {"expired"}
    assert not resting.is_open
    assert not spread.is_open
    assert all(not c.is_open for c in b.orders.values() if c.parent_id == spread.id)
    assert expiry.expire_orders(b, EXPIRY - timedelta(days=1)) == []
