"""Our Massive REST client against the simulator's Massive REST server: chains across pages,
filters, the page guard, and errors that never carry the key."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tradewire.errors import MarketDataError
from tradewire.sim.massive_rest import MassiveRestServer
from tradewire.sim.option_chain import OptionChains
from tradewire.venues.polygon.rest import MassiveRestClient

NOW = datetime(2026, 7, 27, 15, 0, tzinfo=UTC)
KEY = "sk-live-0123456789abcdef"  # looks real: it must show up nowhere


@pytest.fixture
async def server() -> AsyncIterator[MassiveRestServer]:
    chains = OptionChains()
    chains.list_underlying("SPY", 400.0, NOW.date())
    async with MassiveRestServer(
        chains, {"SPY": 400.0}.get, clock=lambda: NOW, api_keys=[KEY]
    ) as srv:
        yield srv


async def test_option_chain_follows_next_url_to_the_end(server: MassiveRestServer) -> None:
    async with MassiveRestClient(KEY, base_url=server.url) as rest:
        chain = await rest.option_chain("spy", limit=7)

    assert len(chain) == 66
    assert len({e.symbol for e in chain}) == 66
    assert server.requests == 10  # ceil(66 / 7)
    put = next(e for e in chain if e.symbol == "SPY260731P00395000")
    assert put.underlying == "SPY"
    assert put.expiry == date(2026, 7, 31)
    assert put.strike == Decimal(395)
    assert put.right == "put"
    assert put.multiplier == Decimal(100)
    assert put.bid is not None
    assert put.ask is not None
    assert 0 < put.bid < put.ask
    assert put.mid == pytest.approx((put.bid + put.ask) / 2)
    assert put.iv == 0.25
    assert put.delta is not None
    assert -0.5 < put.delta < 0
    assert put.underlying_price == 400.0
    assert put.open_interest is not None
    assert put.last_price is None  # the simulator printed no trade in it


async def test_option_chain_filters(server: MassiveRestServer) -> None:
    async with MassiveRestClient(KEY, base_url=server.url) as rest:
        chain = await rest.option_chain(
            "SPY",
            expiration_date=date(2026, 8, 7),
            contract_type="call",
            strike_gte=Decimal(395),
            strike_lte=405,
        )
    assert sorted(e.strike for e in chain) == [395, 400, 405]
    assert {(e.right, e.expiry) for e in chain} == {("call", date(2026, 8, 7))}


async def test_options_contracts_across_pages(server: MassiveRestServer) -> None:
    async with MassiveRestClient(KEY, base_url=server.url) as rest:
        every = await rest.options_contracts("SPY", limit=25)
        near = await rest.options_contracts(
            "SPY", contract_type="put", expiration_lte=date(2026, 7, 31), strike_gte=420
        )
    assert len(every) == 66
    assert [c.symbol for c in near] == ["SPY260731P00420000", "SPY260731P00425000"]
    assert near[0].multiplier == Decimal(100)
    assert near[0].style == "american"


async def test_the_page_guard_refuses_an_endless_chain(server: MassiveRestServer) -> None:
    async with MassiveRestClient(KEY, base_url=server.url, max_pages=3) as rest:
        with pytest.raises(MarketDataError, match="more than 3 pages"):
            await rest.option_chain("SPY", limit=10)
    assert server.requests == 3


async def test_a_wrong_key_is_one_error_without_the_key(
    server: MassiveRestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "sk-live-WRONG-9876543210"
    rest = MassiveRestClient(wrong, base_url=server.url)
    with pytest.raises(MarketDataError) as caught:
        await rest.option_chain("SPY")
    await rest.close()

    err = caught.value
    assert err.status == 401
    assert "Unknown API Key" in str(err)
    assert err.__cause__ is None
    assert err.__context__ is None or wrong not in repr(err.__context__)
    for text in (str(err), repr(err), repr(rest), caplog.text):
        assert wrong not in text


async def test_a_server_that_is_not_there_is_a_market_data_error() -> None:
    async with MassiveRestClient(KEY, base_url="http://127.0.0.1:9", timeout_s=2) as rest:
        with pytest.raises(MarketDataError, match="request failed") as caught:
            await rest.option_chain("SPY")
    assert KEY not in str(caught.value)
    assert caught.value.__cause__ is None


def test_no_key_or_a_bad_base_url_is_refused() -> None:
    with pytest.raises(MarketDataError, match="no API key"):
        MassiveRestClient("")
    with pytest.raises(MarketDataError, match="not http"):
        MassiveRestClient(KEY, base_url="ftp://example.com")
