"""Massive crypto events reach strategies like stock events (issue 23): the router used to
drop every ``CryptoQuote``/``CryptoTrade``/``CryptoAggregate`` as unknown. Keyed by
``.symbol`` (``BTC-USD`` on the socket is ``BTC/USD`` here), with the stock rules: only routed
symbols are remembered and a non-finite mid is no reference price."""

from __future__ import annotations

from typing import Any

from tradewire import Strategy
from tradewire.testing import FakeContext
from tradewire.venues.polygon.crypto import (
    CryptoAggregate,
    CryptoMinuteAggregate,
    CryptoQuote,
    CryptoTrade,
)


class Heard(Strategy):
    def on_start(self) -> None:
        self.heard: list[tuple[str, str]] = []

    def on_quote(self, quote: Any) -> None:
        self.heard.append(("quote", quote.symbol))

    def on_trade(self, trade: Any) -> None:
        self.heard.append(("trade", trade.symbol))

    def on_bar(self, bar: Any) -> None:
        self.heard.append((type(bar).__name__, bar.symbol))


def test_crypto_events_are_routed_by_their_instrument_key() -> None:
    s = Heard(symbols=["BTC/USD"])
    ctx = FakeContext(s).start()
    ctx.feed(
        [
            CryptoQuote("BTC-USD", bid_price=50_000.0, ask_price=50_002.0),
            CryptoTrade("BTC-USD", price=50_001.0, size=0.01),
            CryptoAggregate("BTC-USD", open=1.0, close=1.0, high=1.0, low=1.0),
            CryptoMinuteAggregate("BTC-USD", open=1.0, close=1.0, high=1.0, low=1.0),
            CryptoQuote("ETH-USD", bid_price=2_000.0, ask_price=2_001.0),  # not routed
        ]
    )
    assert s.heard == [
        ("quote", "BTC/USD"),
        ("trade", "BTC/USD"),
        ("CryptoAggregate", "BTC/USD"),
        ("CryptoMinuteAggregate", "BTC/USD"),
    ]
    assert ctx.core.mids == {"BTC/USD": 50_001.0}
    assert ctx.core.last_trades == {"BTC/USD": 50_001.0}
    assert "ETH/USD" not in ctx.core.market.quotes


def test_a_crypto_quote_with_no_finite_mid_is_no_reference_price() -> None:
    s = Heard(symbols=["BTC/USD"])
    ctx = FakeContext(s).start()
    ctx.feed([CryptoQuote("BTC-USD", bid_price=float("inf"), ask_price=float("inf"))])
    assert s.heard == [("quote", "BTC/USD")]
    assert "BTC/USD" not in ctx.core.mids
