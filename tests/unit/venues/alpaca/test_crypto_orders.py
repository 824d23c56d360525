"""Alpaca crypto orders validated sans-I/O: checked with the bytes of the request body."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradewire.engine.instruments import Instrument
from tradewire.venues.alpaca.crypto_orders import build_crypto_order
from tradewire.venues.alpaca.errors import OrderValidationError
from tradewire.venues.alpaca.requests import encode_body

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "alpaca" / "crypto"


def _load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


BTC = Instrument.from_alpaca_asset(_load("crypto__assets__1.json"))  # increments 1 / 0.0001
ETH = Instrument.from_alpaca_asset(
    {
        **_load("crypto__assets__1.json"),
        "symbol": "ETH/USD",
        "price_increment": "0.1",
        "min_order_size": "0.001",
        "min_trade_increment": "0.001",
    }
)


def _body(**kwargs: Any) -> bytes:
    kwargs.setdefault("client_order_id", "c1")
    kwargs.setdefault("instrument", BTC)
    return encode_body(build_crypto_order(**kwargs))


def test_a_fractional_market_buy_is_exact_bytes() -> None:
    assert _body(side="buy", qty=0.0105) == (
        b'{"symbol":"BTC/USD","side":"buy","type":"market","time_in_force":"gtc",'
        b'"client_order_id":"c1","qty":"0.0105"}'
    )


def test_a_notional_market_buy_is_exact_bytes() -> None:
    assert _body(side="buy", notional=250, time_in_force="ioc") == (
        b'{"symbol":"BTC/USD","side":"buy","type":"market","time_in_force":"ioc",'
        b'"client_order_id":"c1","notional":"250"}'
    )


def test_a_limit_order_has_no_float_artefacts() -> None:
    body = _body(instrument=ETH, side="buy", order_type="limit", qty=0.1 + 0.2, limit_price=0.1 * 3)
    assert body == (
        b'{"symbol":"ETH/USD","side":"buy","type":"limit","time_in_force":"gtc",'
        b'"client_order_id":"c1","qty":"0.3","limit_price":"0.3"}'
    )


def test_a_stop_limit_sell_within_the_position() -> None:
    body = _body(
        side="sell",
        order_type="stop_limit",
        qty="0.5",
        stop_price=60000,
        limit_price=59900,
        held=Decimal("2.61937"),
    )
    assert json.loads(body) == {
        "symbol": "BTC/USD",
        "side": "sell",
        "type": "stop_limit",
        "time_in_force": "gtc",
        "client_order_id": "c1",
        "qty": "0.5",
        "limit_price": "59900",
        "stop_price": "60000",
    }


def test_the_real_crypto_order_is_what_we_would_send() -> None:
    # Alpaca's OpenAPI example: a gtc limit buy of 0.02 ETH/USD at 2100.
    real = _load("openapi_order_crypto.json")
    order = build_crypto_order(
        ETH,
        side=real["side"],
        order_type=real["type"],
        time_in_force=real["time_in_force"],
        qty=0.02,
        limit_price=2100.0,
    )
    sent = json.loads(encode_body(order))
    for name in ("symbol", "side", "type", "time_in_force", "qty", "limit_price"):
        assert sent[name] == real[name], name


def test_the_legacy_and_feed_forms_are_sent_as_the_order_form() -> None:
    position_form = Instrument.from_alpaca_asset(
        {**_load("crypto__assets__1.json"), "symbol": "BTCUSD"}
    )
    assert json.loads(_body(instrument=position_form, side="buy", qty=1))["symbol"] == "BTC/USD"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"side": "buy", "qty": 1, "time_in_force": "day"},
            r"time_in_force must be one of \['gtc', 'ioc'\] for crypto, got 'day'",
        ),
        ({"side": "buy", "qty": 1, "time_in_force": "fok"}, "time_in_force must be one of"),
        (
            {"side": "buy", "qty": 1, "order_type": "stop", "stop_price": 1},
            r"order_type must be one of \['limit', 'market', 'stop_limit'\] for crypto, got 'stop'",
        ),
        ({"side": "buy", "qty": 1, "order_type": "trailing_stop"}, "order_type must be one of"),
        ({"side": "buy"}, "give exactly one of qty and notional"),
        ({"side": "buy", "qty": 1, "notional": 100}, "give exactly one of qty and notional"),
        ({"side": "short", "qty": 1}, "side must be 'buy' or 'sell'"),
        (
            {"side": "buy", "qty": 1, "order_type": "limit"},
            "limit_price is required for limit orders",
        ),
        (
            {"side": "buy", "qty": 1, "limit_price": 1},
            "limit_price is not allowed for market orders",
        ),
        (
            {"side": "buy", "qty": 1, "order_type": "stop_limit", "limit_price": 1},
            "stop_price is required for stop_limit orders",
        ),
        (
            {"side": "buy", "qty": 1, "order_type": "limit", "limit_price": 1, "stop_price": 1},
            "stop_price is not allowed for limit orders",
        ),
        ({"side": "buy", "qty": 0.00005}, r"qty 5e-05 is not a multiple of 0\.0001"),
        ({"side": "buy", "qty": 0.01055}, r"qty 0\.01055 is not a multiple of 0\.0001"),
        ({"side": "buy", "qty": -1}, "qty must be > 0"),
        ({"side": "buy", "notional": 0}, "notional must be > 0"),
        (
            {"side": "buy", "notional": "12.3456789012"},
            "notional 12.3456789012 has more than 9 decimals",
        ),
        (
            {"side": "buy", "qty": 1, "order_type": "limit", "limit_price": 65000.5},
            r"limit_price 65000\.5 is not a multiple of 1",
        ),
        ({"side": "buy", "qty": 1, "client_order_id": "x" * 129}, "client_order_id must be 1..128"),
        (
            {"side": "sell", "qty": 1},
            "crypto cannot be sold short: sell qty 1 of BTC/USD with 0 held",
        ),
        (
            {"side": "sell", "qty": 3, "held": "2.61937"},
            "crypto cannot be sold short: sell qty 3 of BTC/USD with 2.61937 held",
        ),
        (
            {"side": "sell", "notional": 100},
            "crypto cannot be sold short: sell notional 100 of BTC/USD with 0 held",
        ),
    ],
)
def test_each_refusal_has_one_clear_message(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(OrderValidationError, match=message):
        _body(**kwargs)


def test_below_the_minimum_order_size_is_refused() -> None:
    with pytest.raises(OrderValidationError, match=r"below the minimum order size 0\.001"):
        build_crypto_order(
            Instrument.from_alpaca_asset(
                {**_load("crypto__assets__1.json"), "min_order_size": "0.001"}
            ),
            side="buy",
            qty=0.0005,
        )


def test_an_equity_instrument_is_refused() -> None:
    with pytest.raises(OrderValidationError, match="AAPL is not a crypto instrument"):
        build_crypto_order(Instrument.equity("AAPL"), side="buy", qty=1)


def test_a_sell_of_the_whole_position_is_no_short() -> None:
    position = _load("entity__position-crypto.json")
    order = build_crypto_order(BTC, side="sell", qty="2.6193", held=position["qty"])
    assert order.qty == "2.6193"
    assert order.symbol == "BTC/USD"


def test_a_notional_sell_with_a_position_is_allowed() -> None:
    order = build_crypto_order(BTC, side="sell", notional="100.5", held="0.01")
    assert order.notional == "100.5"


def test_a_fresh_client_order_id_is_made_when_none_is_given() -> None:
    a = build_crypto_order(BTC, side="buy", qty=1)
    b = build_crypto_order(BTC, side="buy", qty=1)
    assert a.client_order_id != b.client_order_id
    assert len(a.client_order_id) == 32


@pytest.mark.parametrize(
    ("ours", "sdk_cls", "sdk_kwargs"),
    [
        ({"qty": 0.0105}, "MarketOrderRequest", {"qty": 0.0105}),
        ({"notional": 250}, "MarketOrderRequest", {"notional": 250}),
        (
            {"qty": 0.0105, "order_type": "limit", "limit_price": 65000},
            "LimitOrderRequest",
            {"qty": 0.0105, "limit_price": 65000},
        ),
        (
            {"qty": 0.0105, "order_type": "stop_limit", "limit_price": 65100, "stop_price": 65000},
            "StopLimitOrderRequest",
            {"qty": 0.0105, "limit_price": 65100, "stop_price": 65000},
        ),
    ],
)
def test_alpaca_py_would_send_the_same_order(
    ours: dict[str, Any], sdk_cls: str, sdk_kwargs: dict[str, Any]
) -> None:
    requests = pytest.importorskip("alpaca.trading.requests")
    enums = pytest.importorskip("alpaca.trading.enums")
    sdk = getattr(requests, sdk_cls)(
        symbol="BTC/USD",
        side=enums.OrderSide.BUY,
        time_in_force=enums.TimeInForce.GTC,
        client_order_id="c1",
        **sdk_kwargs,
    ).to_request_fields()
    sent = json.loads(_body(side="buy", **ours))
    assert set(sent) == set(sdk)
    for name, value in sdk.items():
        if isinstance(value, (int, float)):
            assert Decimal(sent[name]) == Decimal(str(value)), name
        else:
            assert sent[name] == value, name


@pytest.mark.parametrize("held", [0, "0", 0.0, Decimal(0)])
def test_nothing_held_in_any_form_refuses_a_sell(held: object) -> None:
    with pytest.raises(OrderValidationError, match="crypto cannot be sold short"):
        build_crypto_order(BTC, side="sell", qty=1, held=held)  # type: ignore[arg-type]


def test_a_negative_holding_is_refused() -> None:
    with pytest.raises(OrderValidationError, match="held must be > 0"):
        build_crypto_order(BTC, side="sell", qty=1, held="-1")
