"""Massive crypto cluster messages: every real payload decodes, whole frames in one pass."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from tradewire.venues.polygon.crypto import (
    CRYPTO_EVENT_TYPES,
    CRYPTO_FRAME_DECODER,
    CRYPTO_ITEM_DECODERS,
    CryptoAggregate,
    CryptoBook,
    CryptoMinuteAggregate,
    CryptoQuote,
    CryptoTrade,
)
from tradewire.venues.polygon.messages import Status

CRYPTO = Path(__file__).resolve().parents[3] / "fixtures" / "polygon" / "crypto"


def _frame(*names: str) -> bytes:
    # A frame is a JSON array of events; the fixtures are single events, copied unchanged.
    return b"[" + b",".join((CRYPTO / f"spec__crypto__{n}.json").read_bytes() for n in names) + b"]"


def test_every_crypto_fixture_decodes() -> None:
    names = sorted(
        p.stem.removeprefix("spec__crypto__") for p in CRYPTO.glob("spec__crypto__*.json")
    )
    assert names == ["XA", "XAS", "XL2", "XQ", "XT"]
    events = CRYPTO_FRAME_DECODER.decode(_frame(*names))
    assert [type(e) for e in events] == [
        CryptoMinuteAggregate,
        CryptoAggregate,
        CryptoBook,
        CryptoQuote,
        CryptoTrade,
    ]
    assert [e.channel for e in events] == names


def test_quote_decodes_every_field() -> None:
    (quote,) = CRYPTO_FRAME_DECODER.decode(_frame("XQ"))
    assert isinstance(quote, CryptoQuote)
    assert quote.pair == "BTC-USD"
    assert quote.symbol == "BTC/USD"
    assert (quote.bid_price, quote.bid_size) == (33052.79, 0.48)
    assert (quote.ask_price, quote.ask_size) == (33073.19, 0.601)
    assert quote.timestamp == 1610462411115
    assert quote.exchange == 1
    assert quote.received == 1610462411128
    assert quote.price == pytest.approx((33052.79 + 33073.19) / 2)
    assert quote.spread == pytest.approx(33073.19 - 33052.79)


def test_trade_decodes_every_field() -> None:
    (trade,) = CRYPTO_FRAME_DECODER.decode(_frame("XT"))
    assert isinstance(trade, CryptoTrade)
    assert trade.symbol == "BTC/USD"
    assert trade.price == 33021.9
    assert trade.size == 0.01616617
    assert trade.conditions == [2]
    assert trade.aggressor == "buy"
    assert trade.id == 14272084
    assert trade.exchange == 3
    assert trade.timestamp == 1610462007425
    assert trade.received == 1610462007576


def test_a_trade_id_sent_as_a_string_decodes_too() -> None:
    # The spec example sends an int; the massive SDK types CryptoTrade.id as str.
    (trade,) = CRYPTO_FRAME_DECODER.decode(b'[{"ev":"XT","pair":"ETH-USD","p":1,"s":2,"i":"ab1"}]')
    assert trade.id == "ab1"
    assert trade.conditions is None
    assert trade.aggressor is None


@pytest.mark.parametrize(("name", "cls"), [("XA", CryptoMinuteAggregate), ("XAS", CryptoAggregate)])
def test_aggregates_decode_every_field(name: str, cls: type) -> None:
    (bar,) = CRYPTO_FRAME_DECODER.decode(_frame(name))
    assert type(bar) is cls
    assert bar.symbol == "BCD/USD"
    assert (bar.open, bar.high, bar.low, bar.close) == (0.772, 0.784, 0.771, 0.784)
    assert bar.volume == 951.6112
    assert bar.vwap == 0.7756
    assert bar.average_size == 73
    assert (bar.start, bar.end) == (1610463240000, 1610463300000)


def test_book_decodes_levels_as_price_size_pairs() -> None:
    (book,) = CRYPTO_FRAME_DECODER.decode(_frame("XL2"))
    assert isinstance(book, CryptoBook)
    assert book.symbol == "BTC/USD"
    assert book.bids == [(33712.71, 0.18635), (33712.7, 0.134)]
    assert book.asks == [(33718.23, 3.5527483), (33718.24, 0.1)]
    assert book.timestamp == 1610462411115
    assert book.exchange == 1
    assert book.received == 1610462411128
    assert book.best_bid == (33712.71, 0.18635)
    assert book.best_ask == (33718.23, 3.5527483)


def test_an_empty_book_side_has_no_best_level() -> None:
    (book,) = CRYPTO_FRAME_DECODER.decode(b'[{"ev":"XL2","pair":"BTC-USD","b":[],"a":[]}]')
    assert book.best_bid is None
    assert book.best_ask is None


def test_a_mixed_frame_with_a_status_decodes_in_one_pass() -> None:
    data = (
        b'[{"ev":"status","status":"connected","message":"Connected Successfully"},'
        + _frame("XT", "XQ")[1:]
    )
    events = CRYPTO_FRAME_DECODER.decode(data)
    assert isinstance(events[0], Status)
    assert [type(e) for e in events[1:]] == [CryptoTrade, CryptoQuote]


def test_unknown_keys_are_ignored() -> None:
    (quote,) = CRYPTO_FRAME_DECODER.decode(
        b'[{"ev":"XQ","pair":"BTC-USD","bp":1,"ap":2,"new_field":{"x":1}}]'
    )
    assert quote.bid_price == 1


def test_a_stock_event_is_not_a_crypto_event() -> None:
    with pytest.raises(msgspec.ValidationError):
        CRYPTO_FRAME_DECODER.decode(b'[{"ev":"Q","sym":"AAPL"}]')


def test_the_item_decoders_cover_every_event_type() -> None:
    assert set(CRYPTO_EVENT_TYPES) == {"XQ", "XT", "XA", "XAS", "XL2"}
    assert set(CRYPTO_ITEM_DECODERS) == {*CRYPTO_EVENT_TYPES, "status"}
    for ev, cls in CRYPTO_EVENT_TYPES.items():
        raw = json.loads((CRYPTO / f"spec__crypto__{ev}.json").read_bytes())
        assert type(CRYPTO_ITEM_DECODERS[ev].decode(json.dumps(raw).encode())) is cls


def test_events_round_trip_with_the_wire_names() -> None:
    (trade,) = CRYPTO_FRAME_DECODER.decode(_frame("XT"))
    wire = json.loads(msgspec.json.encode(trade))
    assert wire == json.loads((CRYPTO / "spec__crypto__XT.json").read_bytes())


# The official SDK's models name each wire key; ours must read the same value from it.
_SDK_FIELDS = {
    "XQ": {
        "pair": "pair",
        "bid_price": "bid_price",
        "bid_size": "bid_size",
        "ask_price": "ask_price",
        "ask_size": "ask_size",
        "timestamp": "timestamp",
        "exchange_id": "exchange",
        "received_timestamp": "received",
    },
    "XT": {
        "pair": "pair",
        "exchange": "exchange",
        "id": "id",
        "price": "price",
        "size": "size",
        "conditions": "conditions",
        "timestamp": "timestamp",
        "received_timestamp": "received",
    },
    "XA": {
        "pair": "pair",
        "open": "open",
        "close": "close",
        "high": "high",
        "low": "low",
        "volume": "volume",
        "vwap": "vwap",
        "start_timestamp": "start",
        "end_timestamp": "end",
        "avg_trade_size": "average_size",
    },
    "XL2": {
        "pair": "pair",
        "bid_prices": "bids",
        "ask_prices": "asks",
        "timestamp": "timestamp",
        "exchange_id": "exchange",
        "received_timestamp": "received",
    },
}
_SDK_FIELDS["XAS"] = _SDK_FIELDS["XA"]


@pytest.mark.parametrize("ev", sorted(_SDK_FIELDS))
def test_the_massive_sdk_reads_the_same_values(ev: str) -> None:
    models = pytest.importorskip("massive.websocket.models")
    raw = json.loads((CRYPTO / f"spec__crypto__{ev}.json").read_bytes())
    sdk = models.parse_single(raw, None, models.Market.Crypto)
    ours = CRYPTO_ITEM_DECODERS[ev].decode(json.dumps(raw).encode())
    assert type(sdk).__name__ == {
        "XQ": "CryptoQuote",
        "XT": "CryptoTrade",
        "XL2": "Level2Book",
    }.get(ev, "CurrencyAgg")
    for sdk_name, our_name in _SDK_FIELDS[ev].items():
        expected = getattr(sdk, sdk_name)
        got = getattr(ours, our_name)
        if ev == "XL2" and our_name in ("bids", "asks"):
            got = [list(level) for level in got]
        assert got == expected, (ev, sdk_name)
