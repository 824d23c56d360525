"""Massive's options REST pages parsed sans-I/O: recorded bytes in, typed entries out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tradewire.errors import MarketDataError, TradewireError
from tradewire.venues.polygon.options_rest import (
    ChainEntry,
    parse_chain_page,
    parse_contracts_page,
)


def test_a_chain_page_gives_typed_entries_and_the_next_url(fixture_bytes) -> None:
    body = fixture_bytes("polygon/rest/snapshot_options_chain_page.json")

    entries, next_url = parse_chain_page(body)

    assert next_url is not None
    assert next_url.startswith("https://api.massive.com/v3/snapshot/options/AAPL?cursor=")
    call, put = entries
    assert call == ChainEntry(
        symbol="AAPL220121C00150000",
        underlying="AAPL",
        expiry=date(2022, 1, 21),
        strike=Decimal(150),
        right="call",
        style="american",
        multiplier=Decimal(100),
        bid=120.28,
        ask=120.3,
        mid=120.29,
        bid_size=8,
        ask_size=4,
        last_price=0.05,
        last_trade_ns=1675280958783136800,
        iv=5,
        delta=1,
        gamma=0,
        theta=0.00229,
        vega=0,
        open_interest=1543,
        underlying_price=147,
        break_even=151.2,
        fmv=0.05,
    )
    assert call.contract.massive_ticker == "O:AAPL220121C00150000"
    # An adjusted contract: its own root and shares per contract; nothing quoted.
    assert put.symbol == "AAPL1220121P00142500"
    assert put.underlying == "AAPL1"
    assert put.strike == Decimal("142.5")
    assert put.multiplier == Decimal(10)
    assert put.contract.multiplier == Decimal(10)
    assert (put.bid, put.ask, put.mid, put.last_price, put.iv, put.delta) == (None,) * 6
    assert put.open_interest == 0


def test_the_last_page_has_no_next_url() -> None:
    entries, next_url = parse_chain_page(b'{"status":"OK","request_id":"r","results":[]}')
    assert (entries, next_url) == ([], None)
    entries, next_url = parse_chain_page(b'{"status":"DELAYED","request_id":"r"}')
    assert (entries, next_url) == ([], None)


def test_a_contracts_page_gives_option_contracts(fixture_bytes) -> None:
    body = fixture_bytes("polygon/rest/reference_options_contracts_page.json")

    contracts, next_url = parse_contracts_page(body)

    assert next_url is None
    assert [c.symbol for c in contracts] == ["AAPL211119C00085000", "AAPL211119C00090000"]
    assert contracts[0].strike == Decimal(85)
    assert contracts[0].expiry == date(2021, 11, 19)
    assert contracts[0].right == "call"
    assert contracts[0].multiplier == Decimal(100)


@pytest.mark.parametrize(
    ("status", "body", "expect"),
    [
        (
            401,
            b'{"status":"ERROR","request_id":"abc","error":"Unknown API Key"}',
            "HTTP 401: Unknown API Key (request_id abc)",
        ),
        (
            403,
            b'{"status":"NOT_AUTHORIZED","request_id":"d","message":"You are not entitled"}',
            "HTTP 403: You are not entitled",
        ),
        (502, b"<html>bad gateway</html>", "HTTP 502: a body that is not Massive's JSON"),
        (200, b'{"status":"ERROR","request_id":"e","results":[]}', "status 'ERROR'"),
        (200, b'{"status":"OK","results":', "not Massive's JSON"),
        (200, b'{"status":"OK","results":{"a":1}}', "not Massive's JSON"),
        (
            200,
            b'{"status":"OK","results":[{"details":{"ticker":"O:SPY","strike_price":1}}]}',
            "not an OCC option symbol",
        ),
        (
            200,
            b'{"status":"OK","results":[{"details":'
            b'{"ticker":"O:SPY260731P00395000","strike_price":390}}]}',
            "says strike 390",
        ),
    ],
)
def test_every_failure_is_one_market_data_error(status: int, body: bytes, expect: str) -> None:
    with pytest.raises(MarketDataError) as caught:
        parse_chain_page(body, status=status, what="options chain SPY")
    assert isinstance(caught.value, TradewireError)
    assert expect in str(caught.value)
    assert str(caught.value).startswith("options chain SPY: ")
    assert caught.value.status == status
    assert caught.value.__cause__ is None
