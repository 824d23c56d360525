"""One request builder for every host's venue port (issue 23): a crypto key (``/``) is built
by the crypto rules at the asset's increments, a stock by the equity rules, unchanged."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from tradewire.engine.instruments import Instrument, InstrumentTable
from tradewire.venues.alpaca.errors import OrderValidationError
from tradewire.venues.alpaca.order_builder import DEFAULT_INSTRUMENTS, build_any
from tradewire.venues.alpaca.requests import build_order


def _kw(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "symbol": "AAPL",
        "side": "buy",
        "order_type": "market",
        "time_in_force": "day",
        "qty": 10.0,
        "limit_price": None,
        "stop_price": None,
        "extended_hours": False,
        "client_order_id": "c1",
        "order_class": None,
        "take_profit": None,
        "stop_loss": None,
    }
    return {**base, **over}


def test_a_stock_order_is_what_build_order_builds() -> None:
    assert build_any(**_kw()) == build_order(**_kw())
    assert build_any(**_kw(held=3.0)) == build_order(**_kw())


def test_a_crypto_order_is_built_at_btc_usd_increments_by_default() -> None:
    req = build_any(
        **_kw(
            symbol="BTC/USD",
            time_in_force="gtc",
            qty=0.001,
            order_type="limit",
            limit_price=50_000.0,
        )
    )
    body = msgspec.json.decode(msgspec.json.encode(req))
    assert body["symbol"] == "BTC/USD"
    assert (body["qty"], body["limit_price"], body["time_in_force"]) == ("0.001", "50000", "gtc")
    assert DEFAULT_INSTRUMENTS.get("BTC/USD").qty_increment == Decimal("0.0001")


def test_an_unloaded_crypto_asset_is_refused_with_one_clear_denial() -> None:
    with pytest.raises(OrderValidationError, match="unknown crypto asset DOGE/USD: load it first"):
        build_any(**_kw(symbol="DOGE/USD", time_in_force="gtc", qty=1.0))


def test_a_loaded_asset_uses_its_own_increments() -> None:
    eth = Instrument(
        "ETH/USD", "crypto", Decimal("0.1"), Decimal("0.001"), Decimal("0.001"), True, False
    )
    req = build_any(
        **_kw(symbol="ETH/USD", time_in_force="ioc", qty=0.02), instruments=InstrumentTable([eth])
    )
    assert (req.symbol, req.qty, req.time_in_force) == ("ETH/USD", "0.02", "ioc")


@pytest.mark.parametrize(
    ("over", "says"),
    [
        ({"time_in_force": "day"}, "time_in_force"),
        ({"order_class": "bracket"}, "simple"),
        ({"extended_hours": True}, "extended_hours"),
        ({"qty": 0.00001}, "qty"),
        ({"side": "sell", "held": 0.0}, "short"),
    ],
)
def test_crypto_rules_are_denials(over: dict[str, Any], says: str) -> None:
    kw = _kw(symbol="BTC/USD", time_in_force="gtc", qty=0.001)
    with pytest.raises(OrderValidationError, match=says):
        build_any(**{**kw, **over})


def test_a_sell_within_the_holding_is_built_and_an_unknown_holding_is_left_to_the_gateway() -> None:
    kw = _kw(symbol="BTC/USD", time_in_force="gtc", qty=0.001, side="sell")
    assert build_any(**kw, held=0.002).qty == "0.001"
    assert build_any(**kw, held=None).qty == "0.001"  # a worker: its gateway's core checks
