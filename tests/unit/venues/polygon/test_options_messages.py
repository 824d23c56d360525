"""The options cluster (``/options``) decodes Massive's real payloads as the stock event types
the engine routes, each symbol in Alpaca's form without the ``O:`` (issue 24)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from tradewire.venues.polygon.messages import Aggregate, MinuteAggregate, Quote, Trade
from tradewire.venues.polygon.protocol import MARKETS, FeedSession, market_url

FIXTURES = Path(__file__).parents[3] / "fixtures" / "polygon" / "options"


def _frame(*names: str) -> bytes:
    return (
        b"[" + b",".join((FIXTURES / f"spec__options__{n}.json").read_bytes() for n in names) + b"]"
    )


def test_an_options_session_decodes_every_real_payload_as_the_stock_types() -> None:
    session = FeedSession(SecretStr("k"), market="options")
    quote, trade, bar, minute = session.receive(_frame("Q", "T", "A", "AM"))
    assert session.unknown_events == 0
    assert session.malformed_items == 0
    assert type(quote) is Quote
    assert (quote.symbol, quote.bid_price, quote.ask_price) == ("SPY241220P00720000", 9.71, 9.81)
    assert (quote.bid_size, quote.ask_size) == (17, 24)  # contracts
    assert (quote.bid_exchange, quote.ask_exchange) == (302, 302)
    assert (quote.timestamp, quote.sequence) == (1644506128351, 844090872)
    assert quote.price == pytest.approx(9.76)
    assert type(trade) is Trade
    assert (trade.symbol, trade.price, trade.size, trade.exchange) == (
        "AMC210827C00037000",
        1.54,
        1,
        65,
    )
    assert (trade.conditions, trade.timestamp, trade.sequence) == ([233], 1629820676333, 651921857)
    # The spec's A example is tagged AM: both decode as the minute bar they say they are.
    for agg in (bar, minute):
        assert type(agg) is MinuteAggregate
        assert (agg.symbol, agg.volume, agg.accumulated_volume) == ("ONEM220121C00025000", 2, 8)
        assert (agg.open, agg.close, agg.vwap, agg.day_vwap) == (2.05, 2.05, 2.05, 2.1312)
        assert (agg.start, agg.end) == (1632419640000, 1632419700000)


def test_a_second_bar_and_a_bad_item_take_the_tolerant_path_and_keep_alpaca_symbols() -> None:
    session = FeedSession(SecretStr("k"), market="options")
    events = session.receive(
        b'[{"ev":"A","sym":"O:SPY260731P00395000","v":3,"o":1.2,"c":1.3,"h":1.3,"l":1.2,'
        b'"s":1,"e":2},{"ev":"Q","sym":"O:SPY260731P00395000","bp":"x"},'
        b'{"ev":"XQ","pair":"BTC-USD"},{"ev":"T","sym":"O:SPY260731C00400000","p":2.5,"s":4}]'
    )
    assert [type(e) for e in events] == [Aggregate, Trade]
    assert [e.symbol for e in events] == ["SPY260731P00395000", "SPY260731C00400000"]
    assert session.malformed_items == 1
    assert session.unknown_events == 1


def test_options_is_a_market_with_its_own_path() -> None:
    assert "options" in MARKETS
    assert market_url("ws://127.0.0.1:8765/stocks", "options") == "ws://127.0.0.1:8765/options"
    assert market_url("wss://socket.massive.com/crypto", "options") == (
        "wss://socket.massive.com/options"
    )
