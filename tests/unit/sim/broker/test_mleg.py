"""Multi-leg option orders (``order_class: mleg``) on the simulated broker (issue 24)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from tests.unit.sim.broker.option_helpers import CALL_500, CALL_510, PUT_490, book, quote, sym

from tradewire.sim.broker import wire
from tradewire.sim.broker.orders import OrderError

FIXTURES = Path(__file__).parents[3] / "fixtures" / "alpaca" / "options"
D = Decimal


def spread(**over: object) -> dict[str, object]:
    # A call debit spread: buy 1 x 500C at the ask 4.30, sell 1 x 510C at the bid 1.00.
    body: dict[str, object] = {
        "order_class": "mleg",
        "qty": "1",
        "type": "limit",
        "limit_price": "3.50",
        "time_in_force": "day",
        "legs": [
            {"symbol": CALL_500, "ratio_qty": "1", "side": "buy", "position_intent": "buy_to_open"},
            {"symbol": CALL_510, "ratio_qty": "1", "position_intent": "sell_to_open"},
        ],
    }
    body.update(over)
    return body


def test_an_mleg_order_is_one_parent_shaped_as_the_real_payload() -> None:
    b = book()
    parent = b.submit(spread())
    b.activate(parent)
    got = wire.order_json(parent, b)
    real = json.loads((FIXTURES / "getallorders_examples.json").read_text())["MultilegOptions"]
    assert set(got) == set(real)
    for key in ("symbol", "side", "asset_class", "asset_id", "order_class"):
        assert got[key] == real[key], key
    assert [set(leg) for leg in got["legs"]] == [set(leg) for leg in real["legs"]]
    buy, sell = got["legs"]
    assert (buy["symbol"], buy["side"], buy["ratio_qty"], buy["type"]) == (CALL_500, "buy", "1", "")
    assert (sell["side"], sell["position_intent"]) == ("sell", "sell_to_open")
    assert buy["id"] != sell["id"] != got["id"]
    assert buy["client_order_id"] != sell["client_order_id"]


def test_a_debit_spread_fills_every_leg_together_at_the_net() -> None:
    b = book()
    parent = b.submit(spread(qty="2"))
    execs = b.activate(parent)
    assert [(e.event, e.order.id) for e in execs] == [("new", parent.id), ("fill", parent.id)]
    assert execs[1].price == D("3.30")
    assert execs[1].qty == 2
    assert parent.filled_avg_price == D("3.30")
    got = wire.order_json(parent, b)
    assert (got["status"], got["filled_qty"], got["filled_avg_price"]) == ("filled", "2", "3.3")
    assert [(leg["filled_qty"], leg["filled_avg_price"]) for leg in got["legs"]] == [
        ("2", "4.3"),
        ("2", "1"),
    ]
    assert b.positions[CALL_500].qty == 2
    assert b.positions[CALL_510].qty == -2
    assert b.cash == D(100000) - D("660")  # 2 x 3.30 x 100
    assert [f.symbol for f in b.fills] == [CALL_500, CALL_510]
    assert {f.order_id for f in b.fills} == {leg["id"] for leg in got["legs"]}


def test_ratios_scale_the_legs_and_the_net_as_the_fixture() -> None:
    b = book()
    body = spread(limit_price="10")
    body["legs"] = [
        {"symbol": CALL_510, "ratio_qty": 3.0, "side": "buy"},
        {"symbol": PUT_490, "ratio_qty": 1.0, "side": "sell"},
    ]
    parent = b.submit(body)
    b.activate(parent)
    legs = [b.orders[i] for i in parent.legs]
    assert [(leg.qty, leg.filled_qty) for leg in legs] == [(3, 3), (1, 1)]
    assert parent.filled_avg_price == D("1.30")  # 3 x 1.10 - 1 x 2.00


def test_a_limit_mleg_waits_until_the_net_is_at_or_better_than_the_limit() -> None:
    b = book()
    parent = b.submit(spread(limit_price="3.00"))
    assert [e.event for e in b.activate(parent)] == ["new"]
    assert b.on_quote(quote(CALL_500, 4.00, 4.10)) == []  # 4.10 - 1.00 = 3.10 > 3.00
    assert parent.status == "new"
    (fill,) = b.on_quote(quote(CALL_510, 1.10, 1.20))  # 4.10 - 1.10 = 3.00
    assert (fill.event, fill.order, fill.price) == ("fill", parent, D("3.00"))


def test_a_credit_limit_is_negative() -> None:
    b = book()
    body = spread(limit_price="-3.50")
    body["legs"] = [
        {"symbol": CALL_500, "ratio_qty": "1", "side": "sell"},
        {"symbol": CALL_510, "ratio_qty": "1", "side": "buy"},
    ]
    parent = b.submit(body)
    assert [e.event for e in b.activate(parent)] == ["new"]  # net -3.10: not enough credit
    b.on_quote(quote(CALL_500, 4.60, 4.70))  # -4.60 + 1.10 = -3.50
    assert parent.status == "filled"
    assert parent.filled_avg_price == D("-3.50")
    assert b.cash == D(100000) + D("350")


def test_a_partial_mleg_fill_fills_each_leg_k_times_its_ratio() -> None:
    b = book(partial_fill_probability=1.0, seed=3)
    parent = b.submit(spread(qty="5"))
    execs = b.activate(parent)
    assert execs[1].event == "partial_fill"
    k = parent.filled_qty
    assert 1 <= k < 5
    assert [b.orders[i].filled_qty for i in parent.legs] == [k, k]


def test_canceling_an_mleg_cancels_its_legs_with_one_event() -> None:
    b = book()
    parent = b.submit(spread(limit_price="1.00"))
    b.activate(parent)
    execs = b.cancel(parent.id)
    assert {e.order.id for e in execs} == {parent.id}
    assert {b.orders[i].status for i in parent.legs} == {"canceled"}


@pytest.mark.parametrize(
    "over",
    [
        {"legs": []},
        {"legs": [{"symbol": CALL_500, "ratio_qty": 1, "side": "buy"}]},
        {
            "legs": [
                {"symbol": s, "ratio_qty": 1, "side": "buy"}
                for s in (CALL_500, CALL_510, PUT_490, sym("put", 495), sym("put", 500))
            ]
        },
        {"legs": [{"symbol": CALL_500, "ratio_qty": 1, "side": "buy"}] * 2},
        {"legs": [{"symbol": CALL_500, "ratio_qty": 1}, {"symbol": CALL_510, "ratio_qty": 1}]},
        {
            "legs": [
                {"symbol": CALL_500, "ratio_qty": 1.5, "side": "buy"},
                {"symbol": CALL_510, "ratio_qty": 1, "side": "sell"},
            ]
        },
        {
            "legs": [
                {"symbol": "SPY991231C00500000", "ratio_qty": 1, "side": "buy"},
                {"symbol": CALL_510, "ratio_qty": 1, "side": "sell"},
            ]
        },
        {"type": "stop", "stop_price": "1"},
        {"time_in_force": "ioc"},
        {"qty": None},
        {"qty": "1.5"},
        {"qty": None, "notional": "100"},
        {"limit_price": None},
    ],
)
def test_alpaca_refuses_a_malformed_mleg(over: dict[str, object]) -> None:
    body = {k: v for k, v in spread(**over).items() if v is not None}
    with pytest.raises(OrderError) as exc:
        book().submit(body)
    assert exc.value.status == 422


def test_an_mleg_order_is_not_replaceable() -> None:
    b = book()
    parent = b.submit(spread(limit_price="1.00"))
    b.activate(parent)
    with pytest.raises(OrderError) as exc:
        b.replace(parent.id, {"limit_price": "2.00"})
    assert exc.value.status == 422


def test_a_rejected_mleg_ends_its_legs_too() -> None:
    from tradewire.sim.broker.lifecycle import VenueScript, activate

    b = book()
    parent = b.submit(spread())
    (rejected,) = activate(b, parent, VenueScript(reject_next=1))
    assert rejected.event == "rejected"
    assert {b.orders[i].status for i in parent.legs} == {"rejected"}
    assert b.open_orders() == []
