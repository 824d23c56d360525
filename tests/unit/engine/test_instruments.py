"""The instrument model: one key per asset whatever symbol form a venue uses (issue 23)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tradewire.engine.instruments import (
    Instrument,
    InstrumentError,
    InstrumentTable,
    asset_class_of,
    floor_qty,
    format_price,
    format_qty,
    instrument_key,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "alpaca" / "crypto"


def _load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def btc() -> Instrument:
    return Instrument.from_alpaca_asset(_load("crypto__assets__1.json"))


# --- one key per asset ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["BTC/USD", "btc/usd", " BTC/USD ", "BTCUSD", "BTC-USD", "X:BTCUSD", "X:BTC-USD", "x:btcusd"],
)
def test_every_symbol_form_of_bitcoin_is_one_key(raw: str) -> None:
    assert instrument_key(raw) == "BTC/USD"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("ETHUSD", "ETH/USD"),
        ("ETH-USD", "ETH/USD"),
        ("ETHBTC", "ETH/BTC"),
        ("ETH/BTC", "ETH/BTC"),
        ("BTCUSDT", "BTC/USDT"),
        ("X:BTCUSDT", "BTC/USDT"),
        ("BTC-USDC", "BTC/USDC"),
        ("USDTUSD", "USDT/USD"),
        ("BCD-USD", "BCD/USD"),
    ],
)
def test_crypto_pairs_split_on_the_quote_currency(raw: str, key: str) -> None:
    assert instrument_key(raw) == key


@pytest.mark.parametrize(("raw", "key"), [("aapl", "AAPL"), ("BRK.B", "BRK.B"), ("GOOGL", "GOOGL")])
def test_equities_keep_the_stock_rule(raw: str, key: str) -> None:
    assert instrument_key(raw) == key
    assert asset_class_of(key) == "us_equity"


def test_a_short_ticker_ending_in_a_quote_currency_stays_an_equity() -> None:
    # US equity tickers have at most 5 letters: a bare form needs 3 + 3 to be read as a pair.
    assert instrument_key("ABTC") == "ABTC"
    assert instrument_key("XUSD") == "XUSD"


def test_the_asset_class_of_a_position_decides_a_bare_pair() -> None:
    # Alpaca's crypto position says asset_class "crypto" beside symbol "BTCUSD".
    position = _load("entity__position-crypto.json")
    key = instrument_key(position["symbol"], position["asset_class"])
    assert key == "BTC/USD"
    assert instrument_key("SOLUSD", "crypto") == "SOL/USD"
    assert instrument_key("BTCUSD", "us_equity") == "BTCUSD"


def test_the_order_and_the_position_of_one_asset_share_a_key() -> None:
    order = _load("broker__integration__crypto-trading-broker__9.json")
    position = _load("entity__position-crypto.json")
    assert order["symbol"] == "BTC/USD"
    assert position["symbol"] == "BTCUSD"
    assert instrument_key(order["symbol"], order["asset_class"]) == instrument_key(
        position["symbol"], position["asset_class"]
    )


def test_the_fee_activity_names_the_same_asset_as_the_order() -> None:
    fee = _load("crypto__activities__1.json")  # CFEE, symbol "ETHUSD"
    order = _load("openapi_order_crypto.json")  # symbol "ETH/USD"
    assert instrument_key(fee["symbol"]) == instrument_key(order["symbol"]) == "ETH/USD"


@pytest.mark.parametrize(
    "raw", ["", "   ", "BTC/", "/USD", "BTC/US D", "X:", "BTC//USD", "B$C/USD"]
)
def test_what_is_no_symbol_is_one_clear_error(raw: str) -> None:
    with pytest.raises(InstrumentError, match="symbol"):
        instrument_key(raw)


def test_a_bare_crypto_symbol_without_a_known_quote_is_refused() -> None:
    with pytest.raises(InstrumentError, match="quote currency"):
        instrument_key("BTCEUR", "crypto")


def test_an_unknown_asset_class_is_refused() -> None:
    with pytest.raises(InstrumentError, match="asset class"):
        instrument_key("BTC/USD", "us_future")  # type: ignore[arg-type]


def test_a_pair_is_no_option_contract() -> None:
    with pytest.raises(InstrumentError, match="not an OCC option symbol"):
        instrument_key("BTC/USD", "us_option")


# --- the model ------------------------------------------------------------------------------


def test_the_alpaca_asset_gives_increments_and_flags(btc: Instrument) -> None:
    assert btc.key == "BTC/USD"
    assert btc.asset_class == "crypto"
    assert btc.price_increment == Decimal("1")
    assert btc.min_order_size == Decimal("0.0001")
    assert btc.qty_increment == Decimal("0.0001")
    assert btc.fractionable is True
    assert btc.shortable is False
    assert btc.always_open is True


def test_each_venue_form_of_a_pair(btc: Instrument) -> None:
    assert (btc.base, btc.quote) == ("BTC", "USD")
    assert btc.order_symbol == "BTC/USD"
    assert btc.position_symbol == "BTCUSD"
    assert btc.feed_symbol == "BTC-USD"
    assert btc.rest_ticker == "X:BTCUSD"
    for form in (btc.order_symbol, btc.position_symbol, btc.feed_symbol, btc.rest_ticker):
        assert instrument_key(form) == btc.key


def test_an_equity_is_its_ticker_everywhere() -> None:
    aapl = Instrument.equity("aapl")
    assert aapl.key == aapl.order_symbol == aapl.position_symbol == aapl.feed_symbol == "AAPL"
    assert aapl.rest_ticker == "AAPL"
    assert aapl.asset_class == "us_equity"
    assert aapl.always_open is False
    assert aapl.base == "AAPL"
    assert aapl.quote == "USD"
    assert Instrument.equity("F", fractionable=False).qty_increment == Decimal(1)


def test_an_asset_of_another_class_is_refused() -> None:
    asset = {**_load("crypto__assets__1.json"), "class": "us_future"}
    with pytest.raises(InstrumentError, match="asset class"):
        Instrument.from_alpaca_asset(asset)


def test_a_crypto_asset_without_increments_is_refused() -> None:
    asset = _load("crypto__assets__1.json")
    del asset["min_trade_increment"]
    with pytest.raises(InstrumentError, match="min_trade_increment"):
        Instrument.from_alpaca_asset(asset)


def test_an_equity_asset_takes_the_stock_defaults() -> None:
    asset = {"class": "us_equity", "symbol": "AAPL", "fractionable": True, "shortable": True}
    aapl = Instrument.from_alpaca_asset(asset)
    assert aapl == Instrument.equity("AAPL")


# --- exact decimals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0105, "0.0105"),
        ("0.0105", "0.0105"),
        (Decimal("0.0100"), "0.01"),
        (0.1 + 0.2, "0.3"),  # 0.30000000000000004: a float artefact, snapped
        (2, "2"),
        (0.0001, "0.0001"),
    ],
)
def test_a_qty_is_exact_at_the_increment(btc: Instrument, value: object, text: str) -> None:
    assert format_qty(btc, value) == text  # type: ignore[arg-type]


def test_a_qty_off_the_increment_is_refused_not_rounded(btc: Instrument) -> None:
    with pytest.raises(InstrumentError, match=r"qty 0\.01055 is not a multiple of 0\.0001"):
        format_qty(btc, 0.01055)


def test_a_qty_below_the_minimum_is_refused() -> None:
    asset = {**_load("crypto__assets__1.json"), "min_order_size": "0.001"}
    inst = Instrument.from_alpaca_asset(asset)
    with pytest.raises(InstrumentError, match=r"below the minimum order size 0\.001"):
        format_qty(inst, "0.0005")


@pytest.mark.parametrize("value", [0, -1, "abc", float("nan"), float("inf"), True, None])
def test_a_qty_that_is_no_positive_number_is_refused(btc: Instrument, value: object) -> None:
    with pytest.raises(InstrumentError, match="qty"):
        format_qty(btc, value)  # type: ignore[arg-type]


def test_floor_qty_rounds_down_to_the_increment(btc: Instrument) -> None:
    assert floor_qty(btc, 0.0123456) == Decimal("0.0123")
    assert floor_qty(btc, 250 / 65_000) == Decimal("0.0038")
    assert floor_qty(btc, 0.00009) == Decimal(0)


@pytest.mark.parametrize(
    ("value", "text"),
    [(65000, "65000"), (65000.0, "65000"), ("65001", "65001"), (Decimal("65000.000"), "65000")],
)
def test_a_price_is_exact_at_the_price_increment(btc: Instrument, value: object, text: str) -> None:
    assert format_price(btc, value) == text  # type: ignore[arg-type]


def test_a_price_off_the_increment_is_refused(btc: Instrument) -> None:
    with pytest.raises(InstrumentError, match=r"limit_price 65000\.5 is not a multiple of 1"):
        format_price(btc, 65000.5, "limit_price")


def test_a_fine_price_increment_has_no_float_artefacts() -> None:
    asset = {**_load("crypto__assets__1.json"), "symbol": "SHIB/USD", "price_increment": "1e-8"}
    shib = Instrument.from_alpaca_asset(asset)
    assert format_price(shib, 0.00001234) == "0.00001234"
    assert "e" not in format_price(shib, 1e-8).lower()


def test_an_equity_price_follows_the_stock_tick() -> None:
    aapl = Instrument.equity("AAPL")
    assert format_price(aapl, 150.1) == "150.1"
    assert format_price(aapl, 0.1234) == "0.1234"
    with pytest.raises(InstrumentError, match=r"not a multiple of 0\.01"):
        format_price(aapl, 150.123)


# --- the table ------------------------------------------------------------------------------


def test_the_table_finds_one_instrument_by_any_form(btc: Instrument) -> None:
    table = InstrumentTable([btc, Instrument.equity("AAPL")])
    for form in ("BTC/USD", "BTCUSD", "BTC-USD", "X:BTCUSD"):
        assert table.get(form) is btc
    assert table.get("aapl").key == "AAPL"
    assert "btcusd" in table
    assert "ETH/USD" not in table
    assert sorted(table.keys()) == ["AAPL", "BTC/USD"]
    assert len(table) == 2


def test_an_unknown_instrument_is_a_clear_error(btc: Instrument) -> None:
    table = InstrumentTable([btc])
    with pytest.raises(KeyError, match="ETH/USD"):
        table.get("ETHUSD")


def test_adding_a_second_definition_of_an_asset_replaces_the_first(btc: Instrument) -> None:
    table = InstrumentTable([btc])
    newer = Instrument.from_alpaca_asset({**_load("crypto__assets__1.json"), "symbol": "BTCUSD"})
    table.add(newer)
    assert len(table) == 1
    assert table.get("BTC/USD") is newer
