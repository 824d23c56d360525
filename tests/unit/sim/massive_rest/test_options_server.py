"""The simulator's Massive REST server: chain snapshot and contracts, filters, pages, auth."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import aiohttp
import pytest

from tradewire.sim.massive_rest import MassiveRestServer
from tradewire.sim.option_chain import OptionChains

NOW = datetime(2026, 7, 27, 15, 0, tzinfo=UTC)  # a Monday: Fridays 07-31, 08-07, 08-14
SPOT = {"SPY": 400.0}
BEARER = {"Authorization": "Bearer test-key"}


def _chains() -> OptionChains:
    chains = OptionChains()
    chains.list_underlying("SPY", 400.0, NOW.date())  # 11 strikes x 2 rights x 3 expiries
    return chains


@pytest.fixture
async def server() -> AsyncIterator[MassiveRestServer]:
    async with MassiveRestServer(_chains(), SPOT.get, clock=lambda: NOW) as srv:
        yield srv


async def _get(
    srv: MassiveRestServer, path: str, headers: dict[str, str] | None = None, **params: Any
) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            path if path.startswith("http") else srv.url + path,
            params={k.replace("__", "."): str(v) for k, v in params.items()},
            headers=BEARER if headers is None else headers,
        ) as resp,
    ):
        return resp.status, await resp.json()


async def _all(srv: MassiveRestServer, path: str, **params: Any) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    status, body = await _get(srv, path, **params)
    while True:
        assert status == 200, body
        results.extend(body["results"])
        if "next_url" not in body:
            return results
        status, body = await _get(srv, body["next_url"])


async def test_snapshot_prices_every_contract_in_massives_shape(server: MassiveRestServer) -> None:
    status, body = await _get(server, "/v3/snapshot/options/SPY", limit=250)
    assert status == 200
    assert body["status"] == "OK"
    assert len(body["request_id"]) == 32
    assert "next_url" not in body
    assert len(body["results"]) == 66
    put = next(r for r in body["results"] if r["details"]["ticker"] == "O:SPY260731P00395000")
    assert put["details"] == {
        "contract_type": "put",
        "exercise_style": "american",
        "expiration_date": "2026-07-31",
        "shares_per_contract": 100,
        "strike_price": 395,
        "ticker": "O:SPY260731P00395000",
    }
    quote = put["last_quote"]
    assert 0 < quote["bid"] < quote["ask"]
    assert quote["midpoint"] == pytest.approx((quote["bid"] + quote["ask"]) / 2)
    assert quote["timeframe"] == "REAL-TIME"
    assert -0.5 < put["greeks"]["delta"] < 0
    assert put["greeks"]["gamma"] > 0
    assert put["greeks"]["vega"] > 0
    assert put["greeks"]["theta"] < 0
    assert put["implied_volatility"] == 0.25
    assert put["underlying_asset"]["price"] == 400.0
    assert put["underlying_asset"]["ticker"] == "SPY"
    assert put["break_even_price"] == pytest.approx(395 - quote["midpoint"])
    assert isinstance(put["open_interest"], int)


async def test_default_limit_is_ten_and_next_url_pages_through_everything_once(
    server: MassiveRestServer,
) -> None:
    status, first = await _get(server, "/v3/snapshot/options/SPY")
    assert status == 200
    assert len(first["results"]) == 10
    assert first["next_url"].startswith(f"{server.url}/v3/snapshot/options/SPY?cursor=")
    every = await _all(server, "/v3/snapshot/options/SPY", limit=7)
    tickers = [r["details"]["ticker"] for r in every]
    assert len(tickers) == 66 == len(set(tickers))
    assert tickers == sorted(tickers)


async def test_filters_and_ranges_narrow_the_chain(server: MassiveRestServer) -> None:
    got = await _all(
        server,
        "/v3/snapshot/options/SPY",
        contract_type="put",
        expiration_date="2026-08-07",
        strike_price__gte=390,
        strike_price__lt=405,
        limit=2,
    )
    assert sorted(r["details"]["strike_price"] for r in got) == [390, 395, 400]
    assert {r["details"]["contract_type"] for r in got} == {"put"}
    assert {r["details"]["expiration_date"] for r in got} == {"2026-08-07"}
    later = await _all(server, "/v3/snapshot/options/SPY", expiration_date__gt="2026-08-07")
    assert {r["details"]["expiration_date"] for r in later} == {"2026-08-14"}


async def test_sort_and_order(server: MassiveRestServer) -> None:
    got = await _all(
        server, "/v3/snapshot/options/SPY", sort="strike_price", order="desc", limit=250
    )
    strikes = [r["details"]["strike_price"] for r in got]
    assert strikes == sorted(strikes, reverse=True)


@pytest.mark.parametrize(
    "params",
    [{"limit": 251}, {"limit": 0}, {"limit": "ten"}, {"strike_price": "x"}, {"sort": "volume"}],
)
async def test_bad_parameters_are_a_400_in_massives_error_shape(
    server: MassiveRestServer, params: dict[str, Any]
) -> None:
    status, body = await _get(server, "/v3/snapshot/options/SPY", **params)
    assert status == 400
    assert body["status"] == "ERROR"
    assert body["error"]
    assert body["request_id"]


async def test_auth_as_massive_does(server: MassiveRestServer) -> None:
    status, body = await _get(server, "/v3/snapshot/options/SPY", headers={})
    assert (status, body["status"], body["error"]) == (401, "ERROR", "API Key was not provided")
    status, body = await _get(
        server, "/v3/snapshot/options/SPY", headers={"Authorization": "Bearer nope"}
    )
    assert (status, body["error"]) == (401, "Unknown API Key")
    status, body = await _get(server, "/v3/snapshot/options/SPY", headers={}, apiKey="test-key")
    assert status == 200
    assert body["status"] == "OK"


async def test_an_underlying_without_a_chain_is_an_empty_ok(server: MassiveRestServer) -> None:
    status, body = await _get(server, "/v3/snapshot/options/QQQ")
    assert (status, body["status"], body["results"]) == (200, "OK", [])


async def test_expired_contracts_leave_the_snapshot() -> None:
    after_first_expiry = datetime(2026, 7, 31, 20, 30, tzinfo=UTC)  # 4:30 PM ET on 07-31
    async with MassiveRestServer(_chains(), SPOT.get, clock=lambda: after_first_expiry) as srv:
        got = await _all(srv, "/v3/snapshot/options/SPY", limit=250)
        expired = await _all(srv, "/v3/reference/options/contracts", expired="true", limit=1000)
    assert len(got) == 44
    assert "2026-07-31" not in {r["details"]["expiration_date"] for r in got}
    assert expired == []  # 07-31 is "as of" today still: it expires at today's close


async def test_no_price_for_the_underlying_gives_details_only() -> None:
    async with MassiveRestServer(_chains(), {}.get, clock=lambda: NOW) as srv:
        status, body = await _get(srv, "/v3/snapshot/options/SPY")
    assert status == 200
    first = body["results"][0]
    assert "details" in first
    assert "last_quote" not in first
    assert "greeks" not in first
    assert first["underlying_asset"] == {"ticker": "SPY"}


async def test_auto_listed_underlying_is_listed_at_its_price_on_first_request() -> None:
    chains = OptionChains()
    spot = {"AAPL": 201.3}
    async with MassiveRestServer(chains, spot.get, clock=lambda: NOW, auto_list=["aapl"]) as srv:
        got = await _all(srv, "/v3/snapshot/options/AAPL", limit=250)
    assert len(got) == 66
    assert sorted({r["details"]["strike_price"] for r in got})[5] == 200  # ATM on the $5 grid


async def test_contracts_list_filters_pages_and_shape(server: MassiveRestServer) -> None:
    status, body = await _get(server, "/v3/reference/options/contracts", limit=1001)
    assert status == 400
    assert body["status"] == "ERROR"
    calls = await _all(
        server,
        "/v3/reference/options/contracts",
        underlying_ticker="SPY",
        contract_type="call",
        expiration_date__lte="2026-08-07",
        limit=5,
    )
    assert len(calls) == 22
    assert calls[0] == {
        "cfi": "OCASPS",
        "contract_type": "call",
        "exercise_style": "american",
        "expiration_date": "2026-07-31",
        "shares_per_contract": 100,
        "strike_price": 375,
        "ticker": "O:SPY260731C00375000",
        "underlying_ticker": "SPY",
    }
    assert date.fromisoformat(calls[-1]["expiration_date"]) == date(2026, 8, 7)
    other = await _all(server, "/v3/reference/options/contracts", underlying_ticker="QQQ")
    assert other == []
