from __future__ import annotations

import json
from decimal import Decimal

import pytest
from pydantic import SecretStr

from tradewire.venues.alpaca.errors import OrderValidationError
from tradewire.venues.alpaca.requests import (
    RequestBuilder,
    build_order,
    encode_body,
    format_price,
    format_qty,
    query_string,
)


def body(**kwargs) -> dict:
    return json.loads(encode_body(build_order(**kwargs)))


def test_build_order_seed_limit_order_encodes_decimals_as_strings():
    # Act
    out = body(
        symbol="aapl",
        qty=100,
        side="buy",
        order_type="limit",
        limit_price=150.00,
        client_order_id="c1",
    )

    # Assert
    assert out == {
        "symbol": "AAPL",
        "side": "buy",
        "type": "limit",
        "time_in_force": "day",
        "client_order_id": "c1",
        "qty": "100",
        "limit_price": "150.00",
    }


def test_build_order_without_client_order_id_generates_a_unique_one():
    a = build_order(symbol="A", qty=1, side="buy")
    b = build_order(symbol="A", qty=1, side="buy")
    assert a.client_order_id != b.client_order_id
    assert 0 < len(a.client_order_id) <= 128


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"order_type": "stop", "stop_price": 10}, {"type": "stop", "stop_price": "10.00"}),
        (
            {"order_type": "stop_limit", "stop_price": 10, "limit_price": 9.99},
            {"stop_price": "10.00", "limit_price": "9.99"},
        ),
        ({"order_type": "trailing_stop", "trail_percent": 1.5}, {"trail_percent": "1.5"}),
        ({"order_type": "trailing_stop", "trail_price": 0.25}, {"trail_price": "0.2500"}),
        (
            {"time_in_force": "ioc", "order_type": "limit", "limit_price": 0.1234},
            {"time_in_force": "ioc", "limit_price": "0.1234"},
        ),
        (
            {"order_type": "limit", "limit_price": 5, "extended_hours": True},
            {"extended_hours": True},
        ),
    ],
)
def test_build_order_types_produce_the_venue_fields(kwargs, expected):
    out = body(symbol="A", qty=1, side="sell", client_order_id="x", **kwargs)
    assert expected.items() <= out.items()


def test_build_order_notional_and_fractional_qty():
    assert body(symbol="A", notional=500, side="buy")["notional"] == "500"
    assert body(symbol="A", qty=0.5, side="buy")["qty"] == "0.5"
    assert body(symbol="A", qty=Decimal("1.000000001"), side="buy")["qty"] == "1.000000001"


def test_build_order_bracket_carries_legs():
    out = body(
        symbol="A",
        qty=1,
        side="buy",
        order_type="limit",
        limit_price=10,
        order_class="bracket",
        take_profit={"limit_price": 11},
        stop_loss={"stop_price": 9, "limit_price": 8.9},
    )
    assert out["order_class"] == "bracket"
    assert out["take_profit"] == {"limit_price": "11.00"}
    assert out["stop_loss"] == {"stop_price": "9.00", "limit_price": "8.90"}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"side": "hold"}, "side must be"),
        ({"order_type": "fancy"}, "order_type must be"),
        ({"time_in_force": "week"}, "time_in_force must be"),
        ({"qty": None}, "exactly one of qty and notional"),
        ({"notional": 5}, "exactly one of qty and notional"),
        ({"order_type": "limit"}, "limit_price is required"),
        ({"limit_price": 5}, "limit_price is not allowed"),
        ({"order_type": "stop"}, "stop_price is required"),
        ({"order_type": "trailing_stop"}, "exactly one of trail_price"),
        ({"extended_hours": True}, "extended_hours orders must be limit"),
        ({"client_order_id": "x" * 129}, "1..128"),
        ({"order_class": "bracket"}, "take_profit and stop_loss"),
        ({"order_type": "limit", "limit_price": 150.123}, "sub-penny"),
        ({"order_type": "limit", "limit_price": -1}, "must be > 0"),
        ({"qty": 0}, "must be > 0"),
        ({"qty": True}, "must be a number"),
        # 1e-12 passed risk, was sent as "0" and rejected by the broker
        ({"qty": 1e-12}, "qty 1e-12 is below the smallest increment 0.000000001"),
        ({"qty": "0.0000000004"}, "below the smallest increment"),
        ({"qty": None, "notional": 1e-12}, "notional 1e-12 is below the smallest increment"),
    ],
)
def test_build_order_with_invalid_input_raises_before_sending(kwargs, match):
    base = {"symbol": "A", "qty": 1, "side": "buy"}
    base.update(kwargs)
    with pytest.raises(OrderValidationError, match=match):
        build_order(**base)


def test_format_price_snaps_float_artefacts_to_the_tick():
    assert format_price(0.1 + 0.2, "p") == "0.3000"
    assert format_price(1.1 + 2.2, "p") == "3.30"
    assert format_price("10", "p") == "10.00"


def test_format_qty_normalizes():
    assert format_qty(10.0) == "10"
    assert format_qty("2.50") == "2.5"
    assert format_qty(1e-9) == "0.000000001"  # Alpaca's smallest fractional share


def test_query_string_uses_lowercase_booleans_and_comma_lists():
    assert query_string({"a": True, "b": None, "c": ["X", "Y"], "d": 3}) == "a=true&c=X%2CY&d=3"


def test_request_builder_post_order_bytes_and_repr_without_secret():
    rb = RequestBuilder(
        host="h:1", key_id=SecretStr("KEYID"), secret_key=SecretStr("SECRETVALUE"), user_agent="t"
    )
    raw = rb.post_order(b'{"a":1}')
    head, _, payload = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v2/orders HTTP/1.1"
    assert b"Host: h:1" in lines
    assert b"APCA-API-KEY-ID: KEYID" in lines
    assert b"APCA-API-SECRET-KEY: SECRETVALUE" in lines
    assert b"Content-Length: 7" in lines
    assert payload == b'{"a":1}'
    assert "SECRET" not in repr(rb)
    assert rb.build("GET", "/v2/clock").endswith(b"\r\n\r\n")


def test_format_price_float_fast_path_agrees_with_decimal_rules():
    # The float fast path must give the same string, or the same refusal, as the Decimal
    # path it short-cuts: compare on prices on and off the cent grid.
    import random

    from tradewire.venues.alpaca.requests import _positive_decimal, format_price

    def by_decimal(value: float) -> str:
        dec = _positive_decimal(value, "p")
        places = 2 if dec >= 1 else 4
        snapped = dec.quantize(Decimal(1).scaleb(-places))
        return "refused" if abs(snapped - dec) > Decimal("1e-9") else str(snapped)

    def by_fast_path(value: float) -> str:
        try:
            return format_price(value, "p")
        except OrderValidationError:
            return "refused"

    rng = random.Random(5)
    values = [rng.randint(100, 10**9) / 100 for _ in range(20_000)]
    values += [v + rng.choice((0.001, 0.005, 0.0001, 1e-12, 0.3)) for v in values[:5_000]]
    values += [1.0, 1.005, 150.1, 0.1 + 0.2 + 1, 99999999.99]
    mismatches = [v for v in values if by_fast_path(v) != by_decimal(v)]
    assert mismatches == []
    assert format_price(150.1, "p") == "150.10"
    with pytest.raises(OrderValidationError, match="sub-penny"):
        format_price(150.123, "p")


def test_a_lower_case_ticker_is_sent_upper_case():
    # Already so (build_order upper-cases the symbol); kept as the client's side of the rule.
    assert body(symbol="aapl", qty=1, side="buy")["symbol"] == "AAPL"
