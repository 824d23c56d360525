"""One feed URL names a host; each market is its path (/stocks, /crypto), as on Massive: the
session of a market decodes that market's events, and the URL of one market gives the
others' (issue 23)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from tradewire.venues.polygon.crypto import CryptoQuote, CryptoTrade
from tradewire.venues.polygon.messages import Quote
from tradewire.venues.polygon.protocol import FeedSession, market_url

XQ = (
    b'[{"ev":"XQ","pair":"BTC-USD","bp":60000.5,"bs":0.25,"ap":60001.0,"as":0.5,'
    b'"t":1767268800000,"x":1,"r":1767268800010},'
    b'{"ev":"XT","pair":"BTC-USD","p":60000.75,"t":1767268800001,"s":0.01,"c":[1],"i":"7","x":1,'
    b'"r":1767268800011}]'
)


def test_a_crypto_session_decodes_the_crypto_cluster() -> None:
    session = FeedSession(SecretStr("k"), market="crypto")
    events = session.receive(XQ)
    assert [type(e) for e in events] == [CryptoQuote, CryptoTrade]
    assert events[0].symbol == "BTC/USD"
    assert events[0].price == pytest.approx(60000.75)
    assert session.unknown_events == 0


def test_a_stocks_session_counts_crypto_events_as_unknown_not_as_stocks() -> None:
    session = FeedSession(SecretStr("k"))
    assert session.receive(XQ) == []
    assert session.unknown_events == 2
    q = session.receive(b'[{"ev":"Q","sym":"AAPL","bp":1.0,"ap":1.1}]')
    assert [type(e) for e in q] == [Quote]


def test_an_unknown_market_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="market 'forex'"):
        FeedSession(SecretStr("k"), market="forex")


@pytest.mark.parametrize(
    ("url", "crypto"),
    [
        ("ws://127.0.0.1:8765/stocks", "ws://127.0.0.1:8765/crypto"),
        ("wss://socket.massive.com/stocks", "wss://socket.massive.com/crypto"),
        ("wss://delayed.massive.com/stocks", "wss://delayed.massive.com/crypto"),
        ("ws://127.0.0.1:8765/crypto", "ws://127.0.0.1:8765/crypto"),
        ("ws://127.0.0.1:8765", "ws://127.0.0.1:8765/crypto"),
    ],
)
def test_the_url_of_one_market_gives_the_others(url: str, crypto: str) -> None:
    assert market_url(url, "crypto") == crypto
    assert market_url(crypto, "stocks").endswith("/stocks")
