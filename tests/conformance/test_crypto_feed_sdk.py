"""The simulator's Massive crypto cluster, proven by the official ``massive`` SDK (issue 23):
``WebSocketClient(market="crypto")`` reads ``/crypto`` as it reads Massive's, with only the
host changed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import massive
from massive.websocket.models import CryptoQuote, CryptoTrade, CurrencyAgg, Level2Book

from tradewire.sim.crypto_source import SyntheticCrypto
from tradewire.sim.venue import VenueConfig, VenueSimulator

FIXTURES = Path(__file__).parents[1] / "fixtures" / "polygon" / "crypto"


def _fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"spec__crypto__{name}.json").read_text())
    return data


def call(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    return asyncio.to_thread(fn, *args, **kwargs)


async def _read_crypto(sim: VenueSimulator, subs: list[str], count: int) -> list[Any]:
    received: list[Any] = []
    got = asyncio.Event()
    client = massive.WebSocketClient(
        api_key="test-key",
        feed=f"127.0.0.1:{sim.feed.port}",
        secure=False,
        market="crypto",
        subscriptions=subs,
    )

    async def handler(msgs: list[Any]) -> None:
        received.extend(msgs)
        if len(received) >= count:
            got.set()

    task = asyncio.create_task(client.connect(handler))
    for channel in subs:
        await sim.feed.wait_for_subscribers(channel, timeout_s=10)
    try:
        await asyncio.wait_for(got.wait(), 10)
    finally:
        await sim.feed.close_all(1000)
        await asyncio.wait_for(task, 10)
    return received


async def test_massive_sdk_reads_the_real_crypto_payloads_from_the_crypto_path() -> None:
    async with VenueSimulator(VenueConfig(crypto=("BTC/USD",))) as sim:

        async def publish_when_subscribed() -> None:
            await sim.feed.wait_for_subscribers("XT.BTC-USD", timeout_s=10)
            sim.feed.publish([_fixture("XQ"), _fixture("XT")])

        pub = asyncio.create_task(publish_when_subscribed())
        received = await _read_crypto(sim, ["XQ.BTC-USD", "XT.BTC-USD"], 2)
        await pub
        # The quote moved the simulator's market: the broker fills against it.
        assert sim.market.nbbo("BTC/USD") is not None

    quote, trade = received
    assert isinstance(quote, CryptoQuote)
    assert (quote.pair, quote.bid_price, quote.ask_price, quote.ask_size) == (
        "BTC-USD",
        33052.79,
        33073.19,
        0.601,
    )
    assert isinstance(trade, CryptoTrade)
    assert (trade.pair, trade.price, trade.size, trade.conditions) == (
        "BTC-USD",
        33021.9,
        0.01616617,
        [2],
    )


async def test_massive_sdk_reads_the_synthetic_24_7_crypto_feed() -> None:
    config = VenueConfig(symbols=("AAPL",), crypto=("BTC/USD", "ETH/USD"), rate=200.0)
    async with VenueSimulator(config) as sim:
        sim.start_source()
        received = await _read_crypto(sim, ["XQ.BTC-USD", "XT.*"], 40)
    quotes = [m for m in received if isinstance(m, CryptoQuote)]
    trades = [m for m in received if isinstance(m, CryptoTrade)]
    assert quotes
    assert trades
    assert {q.pair for q in quotes} == {"BTC-USD"}
    assert {t.pair for t in trades} <= {"BTC-USD", "ETH-USD"}
    for q in quotes:
        assert 0 < q.bid_price < q.ask_price
        assert q.bid_size > 0
        assert q.exchange_id is not None
        assert q.received_timestamp is not None
    for t in trades:
        assert t.price > 0
        assert t.size > 0
        assert t.id is not None


async def test_a_stocks_and_a_crypto_connection_of_one_key_both_stay_up() -> None:
    # Massive allows one connection per cluster: /crypto must not evict /stocks.
    async with VenueSimulator(VenueConfig(crypto=("BTC/USD",))) as sim:
        stocks = massive.WebSocketClient(
            api_key="test-key",
            feed=f"127.0.0.1:{sim.feed.port}",
            secure=False,
            market="stocks",
            subscriptions=["Q.AAPL"],
        )
        got: list[Any] = []

        async def on_stocks(msgs: list[Any]) -> None:
            got.extend(msgs)

        task = asyncio.create_task(stocks.connect(on_stocks))
        await sim.feed.wait_for_subscribers("Q.AAPL", timeout_s=10)

        async def publish_when_subscribed() -> None:
            await sim.feed.wait_for_subscribers("XQ.BTC-USD", timeout_s=10)
            sim.feed.publish([_fixture("XQ")])

        pub = asyncio.create_task(publish_when_subscribed())
        crypto_msgs = await _read_crypto(sim, ["XQ.BTC-USD"], 1)
        await pub
        await asyncio.wait_for(task, 10)
    assert isinstance(crypto_msgs[0], CryptoQuote)
    assert sim.feed.actions  # both connections authenticated and subscribed
    assert not any(isinstance(m, CryptoQuote) for m in got)


async def test_massive_sdk_reads_crypto_aggregates_and_the_book() -> None:
    # The real XA/XAS/XL2 payloads, then the synthetic source's own second and minute bars.
    synthetic = SyntheticCrypto(["ETH/USD"], seed=1, start_ms=1_700_000_000_000)
    events = [e for _ in range(1300) for e in synthetic.batch(2, advance_ms=100)]
    bars = [next(e for e in events if e["ev"] == ev) for ev in ("XAS", "XA")]
    subs = ["XA.*", "XAS.*", "XL2.BTC-USD"]
    async with VenueSimulator(VenueConfig(crypto=("BTC/USD", "ETH/USD"))) as sim:

        async def publish_when_subscribed() -> None:
            for channel in subs:
                await sim.feed.wait_for_subscribers(channel, timeout_s=10)
            sim.feed.publish([_fixture("XA"), _fixture("XAS"), _fixture("XL2"), *bars])

        pub = asyncio.create_task(publish_when_subscribed())
        received = await _read_crypto(sim, subs, 5)
        await pub

    minute, second, book, synth_second, synth_minute = received
    for agg, ev in ((minute, "XA"), (second, "XAS")):
        assert isinstance(agg, CurrencyAgg)
        assert (agg.event_type, agg.pair, agg.open, agg.close, agg.volume) == (
            ev,
            "BCD-USD",
            0.772,
            0.784,
            951.6112,
        )
        assert (agg.start_timestamp, agg.end_timestamp, agg.avg_trade_size) == (
            1610463240000,
            1610463300000,
            73,
        )
    assert isinstance(book, Level2Book)
    assert book.pair == "BTC-USD"
    assert book.bid_prices == [[33712.71, 0.18635], [33712.7, 0.134]]
    for agg, bar in ((synth_second, bars[0]), (synth_minute, bars[1])):
        assert isinstance(agg, CurrencyAgg)
        assert (agg.event_type, agg.pair, agg.high, agg.low, agg.vwap) == (
            bar["ev"],
            "ETH-USD",
            bar["h"],
            bar["l"],
            bar["vw"],
        )
        assert agg.end_timestamp - agg.start_timestamp == (1_000 if bar["ev"] == "XAS" else 60_000)
