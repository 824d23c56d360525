"""The official ``massive`` SDK's REST client against the simulator's Massive REST server.

Only ``base`` changes. ``list_snapshot_options_chain`` and ``list_options_contracts`` follow
the server's ``next_url`` (the SDK keeps its path and query and sends the key as
``Authorization: Bearer``) and parse every field into their models.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import massive
import massive.exceptions
import pytest
from massive.rest.models import OptionContractSnapshot, OptionsContract

from tradewire.sim.massive_rest import MassiveRestServer
from tradewire.sim.option_chain import OptionChains

NOW = datetime(2026, 7, 27, 15, 0, tzinfo=UTC)


@pytest.fixture
async def server() -> AsyncIterator[MassiveRestServer]:
    chains = OptionChains()
    chains.list_underlying("SPY", 400.0, NOW.date())
    async with MassiveRestServer(chains, {"SPY": 400.0}.get, clock=lambda: NOW) as srv:
        yield srv


def _client(server: MassiveRestServer, key: str = "test-key") -> massive.RESTClient:
    return massive.RESTClient(api_key=key, base=server.url, retries=0)


async def test_sdk_iterates_the_whole_chain_across_pages(server: MassiveRestServer) -> None:
    client = _client(server)

    snaps: list[OptionContractSnapshot] = await asyncio.to_thread(
        lambda: list(client.list_snapshot_options_chain("SPY", params={"limit": 7}))
    )

    assert len(snaps) == 66
    assert server.requests == 10  # ceil(66 / 7): every page, through next_url
    tickers = [s.details.ticker for s in snaps]
    assert len(set(tickers)) == 66
    put = snaps[tickers.index("O:SPY260731P00395000")]
    assert put.details.contract_type == "put"
    assert put.details.exercise_style == "american"
    assert put.details.expiration_date == "2026-07-31"
    assert put.details.strike_price == 395
    assert put.details.shares_per_contract == 100
    assert 0 < put.last_quote.bid < put.last_quote.ask
    assert put.last_quote.midpoint == pytest.approx((put.last_quote.bid + put.last_quote.ask) / 2)
    assert put.last_quote.timeframe == "REAL-TIME"
    assert -0.5 < put.greeks.delta < 0
    assert put.greeks.gamma > 0
    assert put.greeks.vega > 0
    assert put.greeks.theta < 0
    assert put.implied_volatility == 0.25
    assert put.fair_market_value > 0
    assert put.break_even_price == pytest.approx(395 - put.last_quote.midpoint)
    assert put.open_interest is not None
    assert put.underlying_asset.ticker == "SPY"
    assert put.underlying_asset.price == 400.0


async def test_sdk_filters_reach_the_server(server: MassiveRestServer) -> None:
    client = _client(server)

    snaps = await asyncio.to_thread(
        lambda: list(
            client.list_snapshot_options_chain(
                "SPY",
                params={
                    "contract_type": "call",
                    "expiration_date": "2026-08-14",
                    "strike_price.gte": 410,
                    "limit": 2,
                },
            )
        )
    )

    assert [s.details.strike_price for s in snaps] == [410, 415, 420, 425]
    assert {s.details.contract_type for s in snaps} == {"call"}


async def test_sdk_lists_options_contracts_across_pages(server: MassiveRestServer) -> None:
    client = _client(server)

    contracts: list[OptionsContract] = await asyncio.to_thread(
        lambda: list(client.list_options_contracts(underlying_ticker="SPY", limit=20))
    )
    puts = await asyncio.to_thread(
        lambda: list(
            client.list_options_contracts(
                underlying_ticker="SPY",
                contract_type="put",
                expiration_date="2026-07-31",
                strike_price_lte=380,
            )
        )
    )

    assert len(contracts) == 66
    assert contracts[0].ticker == "O:SPY260731C00375000"
    assert contracts[0].underlying_ticker == "SPY"
    assert contracts[0].shares_per_contract == 100
    assert contracts[0].exercise_style == "american"
    assert [p.ticker for p in puts] == ["O:SPY260731P00375000", "O:SPY260731P00380000"]


async def test_sdk_sees_a_wrong_key_as_massives_bad_response(server: MassiveRestServer) -> None:
    client = _client(server, key="wrong")

    with pytest.raises(massive.exceptions.BadResponse) as caught:
        await asyncio.to_thread(lambda: list(client.list_snapshot_options_chain("SPY")))

    assert "Unknown API Key" in str(caught.value)


async def test_sdk_sees_a_limit_over_250_as_a_bad_response(server: MassiveRestServer) -> None:
    client = _client(server)

    with pytest.raises(massive.exceptions.BadResponse) as caught:
        await asyncio.to_thread(
            lambda: list(client.list_snapshot_options_chain("SPY", params={"limit": 251}))
        )

    assert '"status": "ERROR"' in str(caught.value) or '"status":"ERROR"' in str(caught.value)
