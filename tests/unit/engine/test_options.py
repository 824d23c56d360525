"""Option contracts (issue 24): the OCC symbol in every venue's form is one instrument with the
contract's multiplier. Payloads are the vendors' (reference/fixtures): Alpaca's option and
multi-leg orders (getallorders_examples.json) and Massive's options channels."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tradewire.engine.instruments import Instrument, InstrumentError, asset_class_of, instrument_key
from tradewire.engine.options import (
    OptionSymbolError,
    contract_from_alpaca,
    multiplier_of,
    occ_symbol,
    parse_occ,
)
from tradewire.engine.symbols import normalize_symbol

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _orders() -> dict[str, dict[str, object]]:
    path = FIXTURES / "alpaca" / "options" / "getallorders_examples.json"
    data: dict[str, dict[str, object]] = json.loads(path.read_text())
    return data


def test_the_occ_symbol_names_the_whole_contract() -> None:
    c = parse_occ("SPY260731P00395000")
    assert (c.underlying, c.expiry, c.right, c.strike) == ("SPY", date(2026, 7, 31), "put", 395)
    assert c.multiplier == 100
    assert c.style == "american"
    assert parse_occ("AAPL250620C00100500").strike == Decimal("100.5")


def test_every_venue_form_is_one_key() -> None:
    forms = ["SPY260731P00395000", "O:SPY260731P00395000", " o:spy260731p00395000 "]
    assert {instrument_key(f) for f in forms} == {"SPY260731P00395000"}
    assert {normalize_symbol(f) for f in forms} == {"SPY260731P00395000"}
    assert asset_class_of("SPY260731P00395000") == "us_option"
    # tickers and pairs are untouched
    assert instrument_key("SPY") == "SPY"
    assert asset_class_of("SPY") == "us_equity"
    assert instrument_key("BTCUSD") == "BTC/USD"


def test_the_real_option_order_symbol_is_an_option() -> None:
    order = _orders()["Options"]
    assert order["asset_class"] == "us_option"
    key = instrument_key(str(order["symbol"]))
    assert key == "AAPL250620C00100000"
    assert asset_class_of(key) == "us_option"


def test_the_real_mleg_legs_are_options_and_the_parent_has_no_symbol() -> None:
    order = _orders()["MultilegOptions"]
    assert order["symbol"] == ""
    assert order["side"] == ""
    legs = order["legs"]
    assert isinstance(legs, list)
    assert [asset_class_of(instrument_key(leg["symbol"])) for leg in legs] == ["us_option"] * 2


@pytest.mark.parametrize(
    "raw",
    ["SPY260731X00395000", "SPY261332P00395000", "SPY260731P0039500", "TOOLONGROOT260731P00395000"],
)
def test_what_is_no_contract_is_refused_with_its_name(raw: str) -> None:
    with pytest.raises(OptionSymbolError):
        parse_occ(raw)


def test_occ_symbol_round_trips_and_refuses_unwritable_strikes() -> None:
    assert occ_symbol("spy", date(2026, 7, 31), "put", 395) == "SPY260731P00395000"
    assert occ_symbol("AAPL", date(2025, 6, 20), "C", "100.5") == "AAPL250620C00100500"
    with pytest.raises(OptionSymbolError, match="strike"):
        occ_symbol("SPY", date(2026, 7, 31), "put", "395.0001")
    with pytest.raises(OptionSymbolError, match="type"):
        occ_symbol("SPY", date(2026, 7, 31), "straddle", 395)


def test_an_option_instrument_trades_whole_contracts_with_its_multiplier() -> None:
    opt = Instrument.option("SPY260731P00395000")
    assert opt.asset_class == "us_option"
    assert opt.multiplier == 100
    assert opt.qty_increment == 1
    assert not opt.fractionable
    assert opt.order_symbol == opt.position_symbol == "SPY260731P00395000"
    assert opt.feed_symbol == opt.rest_ticker == "O:SPY260731P00395000"
    assert opt.contract is not None
    assert opt.contract.strike == 395


def test_the_contract_record_sets_the_multiplier_and_must_agree_with_the_symbol() -> None:
    record = {
        "symbol": "SPY1260731C00100000",
        "multiplier": "10",
        "style": "american",
        "strike_price": "100",
    }
    inst = Instrument.from_alpaca_contract(record)
    assert inst.multiplier == 10
    assert inst.contract is not None
    assert inst.contract.underlying == "SPY1"
    assert multiplier_of(inst.key) == 10.0  # registered: every book uses it
    assert multiplier_of("SPY260731P00395000") == 100.0
    assert multiplier_of("AAPL") == 1.0
    with pytest.raises(OptionSymbolError, match="strike"):
        contract_from_alpaca({**record, "strike_price": "105"})
    with pytest.raises(InstrumentError):
        Instrument.from_alpaca_asset({"class": "us_option", "symbol": "SPY"})


def test_intrinsic_value_and_moneyness() -> None:
    call, put = parse_occ("SPY260731C00400000"), parse_occ("SPY260731P00400000")
    assert call.intrinsic(Decimal(410)) == 10
    assert put.intrinsic(Decimal(410)) == 0
    assert put.in_the_money(Decimal(399))
    assert not put.in_the_money(Decimal(400))
