"""Crypto fees on the simulated broker (issue 23): charged in the asset received, posted as
CFEE activities shaped as tests/fixtures/alpaca/crypto/crypto__activities__1.json."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from tradewire.sim.broker import wire
from tradewire.sim.broker.crypto import crypto_assets
from tradewire.sim.broker.matching import SimBook
from tradewire.sim.market import NBBO

FIXTURES = Path(__file__).parents[3] / "fixtures" / "alpaca" / "crypto"
TAKER_TIER_1 = Decimal("0.0025")  # 0.25 % (reference/crypto-options.md 3a)


def _book(rate: Decimal = TAKER_TIER_1) -> SimBook:
    book = SimBook(crypto=crypto_assets(["BTC/USD"]), crypto_fee_rate=rate)
    book.on_quote(NBBO("BTC/USD", 60000.0, 1, 60010.0, 1, 1))
    return book


def _order(side: str, qty: str) -> dict[str, object]:
    return {"symbol": "BTC/USD", "qty": qty, "side": side, "type": "market", "time_in_force": "gtc"}


def test_a_buy_pays_its_fee_in_the_coin_received() -> None:
    book = _book()
    book.activate(book.submit(_order("buy", "0.01")))
    assert book.positions["BTC/USD"].qty == Decimal("0.009975")
    assert book.cash == Decimal(100000) - Decimal("600.1")
    (fee,) = book.fees
    got = wire.fee_activity_json(fee)
    real = json.loads((FIXTURES / "crypto__activities__1.json").read_text())
    assert set(got) == set(real)
    assert (got["activity_type"], got["symbol"], got["qty"], got["net_amount"]) == (
        "CFEE",
        "BTCUSD",
        "-0.000025",
        "0",
    )
    assert got["price"] == "60010"
    assert got["description"] == real["description"]
    assert got["id"].split("::")[0].endswith("000000000")


def test_a_sell_pays_its_fee_in_dollars() -> None:
    book = _book()
    book.activate(book.submit(_order("buy", "0.01")))
    cash = book.cash
    book.activate(book.submit(_order("sell", "0.005")))
    assert book.cash == cash + Decimal("300") - Decimal("0.75")
    fee = wire.fee_activity_json(book.fees[-1])
    assert (fee["qty"], fee["net_amount"], fee["price"]) == ("0", "-0.75", "60000")
    assert fee["description"] == "Coin Pair Transaction Fee (USD)"


def test_no_fee_by_default_and_never_on_stocks() -> None:
    book = SimBook(crypto=crypto_assets(["BTC/USD"]))
    book.on_quote(NBBO("BTC/USD", 60000.0, 1, 60010.0, 1, 1))
    book.activate(book.submit(_order("buy", "0.01")))
    assert book.positions["BTC/USD"].qty == Decimal("0.01")
    assert book.fees == []
    fee_book = _book()
    fee_book.on_quote(NBBO("AAPL", 149.99, 100, 150.0, 100, 1))
    fee_book.activate(
        fee_book.submit(
            {"symbol": "AAPL", "qty": "1", "side": "buy", "type": "market", "time_in_force": "day"}
        )
    )
    assert fee_book.fees == []


def test_the_whole_holding_left_by_a_coin_fee_can_be_sold() -> None:
    import pytest

    from tradewire.sim.broker.orders import OrderError

    book = _book()
    book.activate(book.submit(_order("buy", "0.01")))
    with pytest.raises(OrderError):
        book.submit(_order("sell", "0.009971"))  # off the increment and not the whole holding
    book.activate(book.submit(_order("sell", "0.009975")))
    assert "BTC/USD" not in book.positions
