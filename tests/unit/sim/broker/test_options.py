"""Single-leg option orders and the contract list on the simulated broker (issue 24)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from tests.unit.sim.broker.option_helpers import CALL_500, EXPIRY, PUT_490, book, chains, order

from tradewire.sim.broker import options, wire
from tradewire.sim.broker.orders import OrderError

FIXTURES = Path(__file__).parents[3] / "fixtures" / "alpaca" / "options"
D = Decimal


def test_an_option_order_is_us_option_with_the_real_keys() -> None:
    b = book()
    placed = b.submit(order())
    got = wire.order_json(placed, b)
    real = json.loads((FIXTURES / "getallorders_examples.json").read_text())["Options"]
    assert set(got) == set(real)
    assert (got["symbol"], got["asset_class"], got["qty"]) == (CALL_500, "us_option", "2")


def test_a_bought_call_costs_premium_times_multiplier_and_is_held_in_contracts() -> None:
    b = book()
    placed = b.submit(order(position_intent="buy_to_open"))
    execs = b.activate(placed)
    assert [e.event for e in execs] == ["new", "fill"]
    assert execs[1].price == D("4.30")
    assert b.cash == D(100000) - D("860")  # 2 x 4.30 x 100
    pos = b.positions[CALL_500]
    assert (pos.qty, pos.avg_entry_price, pos.multiplier) == (2, D("4.30"), 100)
    got = wire.position_json(b, pos)
    assert got["asset_class"] == "us_option"
    assert (got["qty"], got["avg_entry_price"], got["cost_basis"]) == ("2", "4.3", "860")
    assert got["market_value"] == "850"  # 2 x mid 4.25 x 100
    assert wire.order_json(placed, b)["position_intent"] == "buy_to_open"
    (fill,) = b.fills
    assert (fill.symbol, fill.qty, fill.price) == (CALL_500, 2, D("4.30"))


def test_selling_to_open_makes_a_short_option_and_credits_the_premium() -> None:
    b = book()
    b.activate(b.submit(order(symbol=PUT_490, side=None, position_intent="sell_to_open",
                              type="market", limit_price=None, qty=1)))  # fmt: skip
    pos = b.positions[PUT_490]
    assert pos.qty == -1
    assert b.cash == D(100000) + D("200")
    assert wire.position_json(b, pos)["side"] == "short"


def test_buying_power_counts_the_multiplier() -> None:
    b = book(starting_cash=D(500))
    with pytest.raises(OrderError) as exc:
        b.submit(order(qty=2))  # 2 x 4.30 x 100 = 860 > 500
    assert (exc.value.status, exc.value.code) == (403, 40310000)


@pytest.mark.parametrize(
    ("over", "status"),
    [
        ({"time_in_force": "ioc"}, 422),
        ({"time_in_force": "fok"}, 422),
        ({"time_in_force": "opg"}, 422),
        ({"qty": "1.5"}, 422),
        ({"qty": None, "notional": "500"}, 422),
        ({"type": "trailing_stop", "trail_percent": "5"}, 422),
        ({"side": "sell", "position_intent": "buy_to_open"}, 422),
        ({"extended_hours": True}, 422),
    ],
)
def test_alpaca_refuses_what_options_do_not_take(over: dict[str, object], status: int) -> None:
    with pytest.raises(OrderError) as exc:
        book().submit(order(**over))
    assert exc.value.status == status


def test_wrong_tif_has_the_reported_wording() -> None:
    with pytest.raises(OrderError, match="not supported for options trading"):
        book().submit(order(time_in_force="ioc"))


def test_gtc_and_stop_limit_are_taken() -> None:
    placed = book().submit(
        order(time_in_force="gtc", type="stop_limit", stop_price="4.50", limit_price="4.60")
    )
    assert (placed.time_in_force, placed.type) == ("gtc", "stop_limit")


def test_contract_json_reads_as_alpaca_py_option_contract() -> None:
    from alpaca.trading.models import OptionContract

    c = chains().get(PUT_490)
    assert c is not None
    got = options.contract_json(c, chains(), datetime.now(UTC), D(500))
    parsed = OptionContract.model_validate(got)
    assert (parsed.symbol, parsed.strike_price, parsed.size) == (PUT_490, 490.0, "100")
    assert parsed.expiration_date == EXPIRY
    assert got["multiplier"] == "100"
    assert got["name"].endswith("490 Put")


def test_contract_list_filters_and_pages() -> None:
    now = datetime.now(UTC)
    ch = chains()
    page, token = options.list_contracts(
        ch, {"underlying_symbols": "SPY", "type": "put", "limit": "4"}, now
    )
    assert len(page) == 4
    assert token is not None
    assert all(c.right == "put" for c in page)
    seen = [c.symbol for c in page]
    while token is not None:
        page, token = options.list_contracts(
            ch, {"underlying_symbols": "SPY", "type": "put", "limit": "4", "page_token": token}, now
        )
        seen += [c.symbol for c in page]
    assert len(seen) == len(set(seen)) == 33  # 3 expiries x 11 strikes
    narrow, _ = options.list_contracts(
        ch,
        {
            "expiration_date": EXPIRY.isoformat(),
            "strike_price_gte": "495",
            "strike_price_lte": "505",
        },
        now,
    )
    assert {c.strike for c in narrow} == {495, 500, 505}
    assert len(narrow) == 6
    none, token = options.list_contracts(ch, {"underlying_symbols": "QQQ"}, now)
    assert (none, token) == ([], None)


@pytest.mark.parametrize("limit", ["10001", "0", "x"])
def test_contract_limit_is_1_to_10000(limit: str) -> None:
    with pytest.raises(OrderError) as exc:
        options.list_contracts(chains(), {"limit": limit}, datetime.now(UTC))
    assert exc.value.status == 422


def test_a_replaced_option_order_stays_an_option_order() -> None:
    b = book()
    placed = b.submit(order(limit_price="4.00", position_intent="buy_to_open"))
    b.activate(placed)
    with pytest.raises(OrderError):
        b.replace(placed.id, {"time_in_force": "ioc"})
    new, _ = b.replace(placed.id, {"limit_price": "4.30"})
    assert (new.multiplier, new.position_intent, new.status) == (100, "buy_to_open", "filled")
    assert b.cash == D(100000) - D("860")
