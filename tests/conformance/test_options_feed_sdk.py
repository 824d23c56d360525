"""The simulator's Massive options cluster, proven by the official ``massive`` SDK (issue 24):
``WebSocketClient(market="options")`` reads ``/options`` as it reads Massive's, with only the
host changed: the real spec payloads, then the simulator's own Black-Scholes quotes, trades
and bars."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import massive
from massive.websocket.models import EquityAgg, EquityQuote, EquityTrade

from tradewire.sim.venue import VenueConfig, VenueSimulator

FIXTURES = Path(__file__).parents[1] / "fixtures" / "polygon" / "options"


def _fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"spec__options__{name}.json").read_text())
    return data


async def _read_options(
    sim: VenueSimulator, subs: list[str], keys: list[str], enough: Callable[[list[Any]], bool]
) -> list[Any]:
    """What the SDK decodes from /options until ``enough``; ``keys``: the simulator's names of
    the subscriptions (an options wildcard ``Q.*`` is kept as ``Q.O:*``)."""
    received: list[Any] = []
    got = asyncio.Event()
    client = massive.WebSocketClient(
        api_key="test-key",
        feed=f"127.0.0.1:{sim.feed.port}",
        secure=False,
        market="options",
        subscriptions=subs,
    )

    async def handler(msgs: list[Any]) -> None:
        received.extend(msgs)
        if enough(received):
            got.set()

    task = asyncio.create_task(client.connect(handler))
    for key in keys:
        await sim.feed.wait_for_subscribers(key, timeout_s=10)
    try:
        await asyncio.wait_for(got.wait(), 20)
    finally:
        await sim.feed.close_all(1000)
        await asyncio.wait_for(task, 10)
    return received


async def test_massive_sdk_reads_the_real_options_payloads_from_the_options_path() -> None:
    subs = ["Q.O:SPY241220P00720000", "T.O:AMC210827C00037000", "AM.O:ONEM220121C00025000"]
    async with VenueSimulator(VenueConfig(symbols=("AAPL",))) as sim:

        async def publish_when_subscribed() -> None:
            for channel in subs:
                await sim.feed.wait_for_subscribers(channel, timeout_s=10)
            sim.feed.publish([_fixture("Q"), _fixture("T"), _fixture("AM")])

        pub = asyncio.create_task(publish_when_subscribed())
        received = await _read_options(sim, subs, subs, lambda r: len(r) >= 3)
        await pub
        # The option's NBBO is the simulator's market, under Alpaca's symbol, in contracts.
        nbbo = sim.market.nbbo("SPY241220P00720000")
        assert nbbo is not None
        assert (nbbo.bid_price, nbbo.bid_size, nbbo.ask_price, nbbo.ask_size) == (
            9.71,
            17,
            9.81,
            24,
        )
        assert sim.market.trades["AMC210827C00037000"].size == 1

    quote, trade, agg = received
    assert isinstance(quote, EquityQuote)
    assert (quote.symbol, quote.bid_price, quote.ask_price, quote.bid_size) == (
        "O:SPY241220P00720000",
        9.71,
        9.81,
        17,
    )
    assert (quote.bid_exchange_id, quote.sequence_number) == (302, 844090872)
    assert isinstance(trade, EquityTrade)
    assert (trade.symbol, trade.price, trade.size, trade.conditions) == (
        "O:AMC210827C00037000",
        1.54,
        1,
        [233],
    )
    assert isinstance(agg, EquityAgg)
    assert (agg.event_type, agg.symbol, agg.volume, agg.accumulated_volume) == (
        "AM",
        "O:ONEM220121C00025000",
        2,
        8,
    )


def _kinds(received: list[Any]) -> set[str]:
    return {str(m.event_type) for m in received}


async def test_massive_sdk_reads_the_simulated_chain_quotes_trades_and_bars() -> None:
    config = VenueConfig(symbols=("AAPL",), options=("SPY",), rate=500.0)
    async with VenueSimulator(config) as sim:
        assert "SPY" in sim.config.symbols  # the underlying is quoted as a stock too
        sim.start_source()
        received = await _read_options(
            sim,
            ["Q.*", "T.*", "A.*"],
            ["Q.O:*", "T.O:*", "A.O:*"],
            lambda r: {"Q", "T", "A"} <= _kinds(r),
        )
        listed = set(sim.option_chains.by_symbol)
        market = sim.market
        quotes = [m for m in received if isinstance(m, EquityQuote)]
        # Every option quote sent is the simulator's NBBO of that contract (or an older one).
        assert all(market.nbbo(q.symbol[2:]) is not None for q in quotes)
        spy = market.nbbo("SPY")
    assert spy is not None
    assert len(listed) == 66  # 3 Fridays x 11 strikes x call and put
    trades = [m for m in received if isinstance(m, EquityTrade)]
    bars = [m for m in received if isinstance(m, EquityAgg)]
    assert quotes
    assert trades
    assert bars
    for q in quotes:
        assert q.symbol.startswith("O:SPY")  # no stock quote on /options, Q.* or not
        assert q.symbol[2:] in listed
        assert 0 <= q.bid_price < q.ask_price
        assert isinstance(q.bid_size, int)
        assert q.bid_size > 0
        assert q.bid_exchange_id is not None
        assert q.bid_exchange_id >= 300
        assert q.timestamp is not None
        assert q.sequence_number is not None
    for t in trades:
        assert t.symbol.startswith("O:SPY")
        assert t.price > 0
        assert t.size > 0
        assert t.conditions == [233]
    for b in bars:
        assert b.event_type == "A"
        assert b.end_timestamp - b.start_timestamp == 1_000
        assert b.low <= b.close <= b.high


async def test_a_stocks_wildcard_hears_no_options_and_both_connections_stay_up() -> None:
    config = VenueConfig(symbols=("AAPL",), options=("SPY",), rate=500.0)
    async with VenueSimulator(config) as sim:
        sim.start_source()
        stocks = massive.WebSocketClient(
            api_key="test-key",
            feed=f"127.0.0.1:{sim.feed.port}",
            secure=False,
            market="stocks",
            subscriptions=["Q.*"],
        )
        got: list[Any] = []

        async def on_stocks(msgs: list[Any]) -> None:
            got.extend(msgs)

        task = asyncio.create_task(stocks.connect(on_stocks))
        await sim.feed.wait_for_subscribers("Q.*", timeout_s=10)
        options = await _read_options(sim, ["Q.*"], ["Q.O:*"], lambda r: len(r) >= 20)
        await asyncio.wait_for(task, 10)
    assert all(m.symbol.startswith("O:") for m in options)
    assert got
    assert not any(m.symbol.startswith("O:") for m in got)
