"""The simulated broker's Alpaca crypto rules, sans-I/O (issue 23)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tradewire.sim.broker import wire
from tradewire.sim.broker.crypto import crypto_assets
from tradewire.sim.broker.matching import SimBook
from tradewire.sim.broker.orders import OrderError
from tradewire.sim.market import NBBO

FIXTURES = Path(__file__).parents[3] / "fixtures" / "alpaca" / "crypto"


def _book() -> SimBook:
    book = SimBook(crypto=crypto_assets(["BTC/USD", "ETH/USD"]))
    book.on_quote(NBBO("BTC/USD", 60000.0, 1, 60010.0, 1, 1))
    return book


def _order(**over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "symbol": "BTC/USD",
        "qty": "0.001",
        "side": "buy",
        "type": "market",
        "time_in_force": "gtc",
    }
    body.update(over)
    return body


def test_crypto_order_json_has_the_real_keys_and_asset_class() -> None:
    book = _book()
    order = book.submit(_order())
    got = wire.order_json(order, book)
    real = json.loads((FIXTURES / "openapi_order_crypto.json").read_text())
    assert set(got) == set(real)
    assert (got["symbol"], got["asset_class"], got["time_in_force"]) == ("BTC/USD", "crypto", "gtc")


def test_legacy_symbol_books_the_pair() -> None:
    book = _book()
    order = book.submit(_order(symbol="BTCUSD"))
    assert order.symbol == "BTC/USD"


def test_a_filled_crypto_buy_is_one_btcusd_position_with_the_real_keys() -> None:
    book = _book()
    book.activate(book.submit(_order(qty="0.0105")))
    book.activate(book.submit(_order(symbol="BTCUSD", qty="0.0005")))
    (pos,) = book.positions.values()
    got = wire.position_json(book, pos)
    real = json.loads((FIXTURES / "entity__position-crypto.json").read_text())
    assert set(got) == set(real)
    assert (got["symbol"], got["asset_class"], got["qty"]) == ("BTCUSD", "crypto", "0.011")
    assert book.fills[-1].symbol == "BTC/USD"
    assert wire.fill_activity_json(book.fills[-1])["symbol"] == "BTCUSD"


def test_crypto_asset_json_is_the_real_asset() -> None:
    real = json.loads((FIXTURES / "entity__asset-crypto-v2.json").read_text())
    got = wire.crypto_asset_json(crypto_assets(["BTC/USD"])["BTC/USD"])
    assert set(got) == set(real)
    for key in (
        "class",
        "symbol",
        "name",
        "status",
        "tradable",
        "marginable",
        "shortable",
        "easy_to_borrow",
        "fractionable",
        "min_order_size",
        "min_trade_increment",
        "price_increment",
    ):
        assert got[key] == real[key], key


def test_notional_crypto_buy_fills_at_the_quantity_increment() -> None:
    book = _book()
    order = book.submit(_order(qty=None, notional="250"))
    book.activate(order)
    assert order.status == "filled"
    assert order.filled_qty == Decimal("0.0041")  # 250 / 60010, rounded down to 0.0001
    assert order.qty is None


@pytest.mark.parametrize(
    ("over", "status", "code", "message"),
    [
        ({"time_in_force": "day"}, 422, 42210000, "invalid crypto time_in_force"),
        ({"time_in_force": "opg"}, 422, 42210000, "invalid crypto time_in_force"),
        ({"type": "trailing_stop", "trail_percent": "1"}, 422, 40010001, "order type"),
        ({"qty": "0.00001"}, 422, 40010001, "0.0001"),
        ({"qty": "0.00012"}, 422, 40010001, "0.0001"),
        ({"qty": "0.001", "notional": "10"}, 422, 40010001, "qty or notional"),
        ({"type": "limit", "limit_price": "60000.5"}, 422, 42210000, "limit_price"),
        ({"order_class": "bracket"}, 422, 40010001, "order_class"),
        ({"side": "sell"}, 403, 40310000, "insufficient balance"),
    ],
)
def test_crypto_refusals(over: dict[str, object], status: int, code: int, message: str) -> None:
    book = _book()
    with pytest.raises(OrderError) as exc:
        book.submit(_order(**over))
    assert (exc.value.status, exc.value.code) == (status, code)
    assert message in exc.value.message
    assert book.orders == {}


def test_sell_counts_open_sells_against_the_holding() -> None:
    book = _book()
    book.activate(book.submit(_order(qty="0.002")))
    book.submit(_order(side="sell", type="limit", limit_price="70000", qty="0.0015"))
    with pytest.raises(OrderError) as exc:
        book.submit(_order(side="sell", qty="0.001"))
    assert exc.value.status == 403
    book.submit(_order(side="sell", qty="0.0005"))


def test_stocks_keep_their_rules_beside_crypto() -> None:
    book = _book()
    book.on_quote(NBBO("AAPL", 149.99, 100, 150.0, 100, 1))
    order = book.submit(_order(symbol="AAPL", qty="1", time_in_force="day"))
    assert order.symbol == "AAPL"
    assert wire.order_json(order, book)["asset_class"] == "us_equity"
    with pytest.raises(OrderError):
        book.submit(_order(symbol="AAPL", qty="0.5", time_in_force="gtc"))


def test_a_resting_crypto_limit_is_replaced_at_the_pair_increments() -> None:
    book = _book()
    old = book.submit(_order(type="limit", limit_price="59000", qty="0.0105"))
    book.activate(old)
    new, _ = book.replace(old.id, {"qty": "0.0205", "limit_price": "59001"})
    assert (new.qty, new.limit_price, new.symbol) == (Decimal("0.0205"), 59001, "BTC/USD")
    with pytest.raises(OrderError) as exc:
        book.replace(new.id, {"qty": "0.00015"})
    assert exc.value.status == 422
    with pytest.raises(OrderError) as exc:
        book.replace(new.id, {"limit_price": "59000.5"})
    assert exc.value.code == 42210000
    with pytest.raises(OrderError) as exc:
        book.replace(new.id, {"time_in_force": "day"})
    assert exc.value.message == "invalid crypto time_in_force"
