"""Alpaca's options order rules, checked before a byte is sent (issue 24): single-leg
(market, limit, stop, stop_limit; day and gtc; whole contracts; no notional; the position
intent agreeing with the side) and multi-leg ``mleg`` (alpaca-py's rules: 2–4 legs with
unique symbols, qty, market or limit, a side or an intent per leg; a signed net limit)."""

from __future__ import annotations

import msgspec
import pytest

from tradewire.engine.multileg import Leg
from tradewire.venues.alpaca.errors import OrderValidationError
from tradewire.venues.alpaca.option_orders import build_mleg_order, build_option_order
from tradewire.venues.alpaca.order_builder import build_any

C400, C410 = "SPY260731C00400000", "SPY260731C00410000"
P390, P380 = "SPY260731P00390000", "SPY260731P00380000"


def _body(request: object) -> dict[str, object]:
    decoded: dict[str, object] = msgspec.json.decode(msgspec.json.encode(request))
    return decoded


def test_a_single_leg_option_order_is_whole_contracts_with_its_intent() -> None:
    body = _body(
        build_any(
            symbol="o:spy260731c00400000",
            side="buy",
            order_type="limit",
            qty=2,
            limit_price=1.25,
            client_order_id="c1",
        )
    )
    assert body == {
        "symbol": C400,
        "side": "buy",
        "type": "limit",
        "time_in_force": "day",
        "client_order_id": "c1",
        "qty": "2",
        "limit_price": "1.25",
    }
    intent = build_option_order(C400, side="sell", qty=1, position_intent="sell_to_close")
    assert _body(intent)["position_intent"] == "sell_to_close"


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"qty": 1.5}, "whole number of contracts"),
        ({"qty": None, "notional": 500}, "not a notional"),
        ({"time_in_force": "ioc"}, "time_in_force"),
        ({"order_type": "trailing_stop"}, "order_type"),
        ({"position_intent": "buy_to_open", "side": "sell"}, "contradicts"),
        ({"order_type": "stop"}, "stop_price is required"),
        ({"extended_hours": True}, "regular session"),
    ],
)
def test_what_alpaca_refuses_for_options_is_refused_here(kw: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"side": "buy", "qty": 1, **kw}
    with pytest.raises(OrderValidationError, match=match):
        build_option_order(C400, **args)  # type: ignore[arg-type]


def test_an_mleg_body_has_no_symbol_or_side_and_a_signed_net_limit() -> None:
    credit = build_mleg_order(
        [Leg(P390, 1, "sell", "sell_to_open"), Leg(P380, 1, "buy", "buy_to_open")],
        qty=3,
        limit_price=-0.85,
        client_order_id="m1",
    )
    body = _body(credit)
    assert body == {
        "type": "limit",
        "time_in_force": "day",
        "client_order_id": "m1",
        "qty": "3",
        "order_class": "mleg",
        "limit_price": "-0.85",
        "legs": [
            {"symbol": P390, "ratio_qty": "1", "side": "sell", "position_intent": "sell_to_open"},
            {"symbol": P380, "ratio_qty": "1", "side": "buy", "position_intent": "buy_to_open"},
        ],
    }
    market = build_mleg_order(
        [Leg(C400, 1, "buy"), Leg(C410, 2, "sell")], qty=1, order_type="market"
    )
    assert "limit_price" not in _body(market)


@pytest.mark.parametrize(
    ("legs", "kw", "match"),
    [
        ([Leg(C400, 1, "buy")], {}, "2 to 4 legs"),
        ([Leg(C400, 1, "buy")] * 2, {}, "repeats"),
        ([Leg(C400, 1, "buy"), Leg("SPY", 1, "sell")], {}, "not an option"),
        ([Leg(C400, 1, "buy"), Leg(C410, 1)], {}, "side or a position_intent"),
        ([Leg(C400, 1, "buy"), Leg(C410, 1, "sell")], {"order_type": "stop"}, "market or limit"),
        ([Leg(C400, 1, "buy"), Leg(C410, 1, "sell")], {"limit_price": None}, "required"),
        ([Leg(C400, 1, "buy"), Leg(C410, 1, "sell")], {"qty": 0.5}, "whole number"),
        ([Leg(C400, 1, "buy"), Leg(C410, 1, "sell")], {"time_in_force": "ioc"}, "time_in_force"),
    ],
)
def test_alpaca_py_mleg_rules_are_kept(legs: list[Leg], kw: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"qty": 1, "limit_price": 1.0, **kw}
    with pytest.raises(OrderValidationError, match=match):
        build_mleg_order(legs, **args)  # type: ignore[arg-type]


def test_alpaca_py_accepts_what_we_build() -> None:
    from alpaca.trading.requests import LimitOrderRequest, OptionLegRequest

    body = _body(
        build_mleg_order([Leg(C400, 1, "buy"), Leg(C410, 1, "sell")], qty=2, limit_price=3.1)
    )
    legs = body.pop("legs")
    assert isinstance(legs, list)
    request = LimitOrderRequest(**body, legs=[OptionLegRequest(**leg) for leg in legs])
    assert request.order_class == "mleg"
    assert request.legs is not None
    assert [leg.symbol for leg in request.legs] == [C400, C410]
