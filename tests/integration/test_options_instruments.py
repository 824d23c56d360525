"""A node loads the contract of every option symbol its strategies name before the first
order (issue 24): the multiplier comes from Alpaca's contract (``GET
/v2/options/contracts/{symbol}``, served by the simulated broker), is the one every book uses,
and a contract the broker does not list stops the start with one line."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tradewire.engine.instruments import InstrumentTable
from tradewire.engine.options import multiplier_of, occ_symbol, parse_occ
from tradewire.engine.positions import PositionBook
from tradewire.errors import ConfigError
from tradewire.live.recovery import load_instruments
from tradewire.sim.broker.server import AlpacaBrokerServer
from tradewire.sim.option_chain import OptionChains, listing_fridays
from tradewire.venues.alpaca.client import AlpacaClient

EXPIRY = listing_fridays(datetime.now(UTC).date() + timedelta(days=7), 1)[0]
STANDARD = occ_symbol("SPY", EXPIRY, "call", 500)
ADJUSTED = occ_symbol("XYZ1", EXPIRY, "put", 20)  # an adjusted contract: 10 shares


async def test_contracts_bring_their_multiplier_and_an_unknown_one_stops_the_start() -> None:
    chains = OptionChains()
    chains.list_underlying("SPY", 500.0, EXPIRY - timedelta(days=7))
    chains.add(parse_occ(ADJUSTED).with_details(multiplier=Decimal(10)))
    async with AlpacaBrokerServer(option_chains=chains) as broker:
        client = AlpacaClient("test-key", "test-secret", base_url=broker.base_url)
        await client.connect()
        try:
            table = InstrumentTable()
            deadline = time.monotonic() + 10
            await load_instruments(client, ["SPY", STANDARD, ADJUSTED], table, deadline=deadline)
            assert table.get(STANDARD).multiplier == 100
            assert table.get(ADJUSTED).multiplier == 10
            assert multiplier_of(ADJUSTED) == 10.0
            book = PositionBook()
            book.apply_fill(ADJUSTED, "buy", 2, 1.5)
            assert book.gross_exposure == pytest.approx(2 * 1.5 * 10)
            unknown = occ_symbol("SPY", EXPIRY, "call", 999)
            with pytest.raises(ConfigError, match=f"option contract {unknown} is not known"):
                await load_instruments(client, [unknown], table, deadline=deadline)
        finally:
            await client.close()
