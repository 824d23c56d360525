"""A strategy trades crypto as it trades stocks (issue 23): ``buy("btc/usd", 0.001)`` on
Massive crypto quotes is a ``BTC/USD`` order, gtc by default (crypto refuses ``day``), at the
asset's quantity increment; a stock order keeps its ``day`` default."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tradewire import Strategy
from tradewire.engine.config import RiskConfig
from tradewire.engine.symbols import normalize_symbol
from tradewire.testing import run_on_events
from tradewire.venues.polygon.crypto import CryptoQuote
from tradewire.venues.polygon.messages import Quote


class BuyOnce(Strategy):
    def on_start(self) -> None:
        self.done = False
        self.kw: dict[str, Any] = dict(self.params)

    def on_quote(self, quote: Any) -> None:
        if not self.done:
            self.done = True
            self.buy(self.kw.pop("symbol"), self.kw.pop("qty"), **self.kw)


def _body(ctx: Any) -> dict[str, Any]:
    assert len(ctx.orders) == 1, [h.denied for h in ctx.core.handles.values()]
    return msgspec.json.decode(msgspec.json.encode(ctx.orders[0]))


def _quotes() -> list[CryptoQuote]:
    return [
        CryptoQuote("BTC-USD", bid_price=50_000.0, ask_price=50_002.0, timestamp=1_767_268_800_000),
        CryptoQuote("BTC-USD", bid_price=50_001.0, ask_price=50_003.0, timestamp=1_767_268_801_000),
    ]


def test_buy_btc_usd_on_crypto_quotes_is_a_gtc_btc_usd_order_and_fills() -> None:
    s = BuyOnce(symbols=["BTC/USD"], params={"symbol": "btc/usd", "qty": 0.001})
    ctx = run_on_events(s, _quotes(), risk=RiskConfig(price_band_pct=50))
    body = _body(ctx)
    assert (body["symbol"], body["time_in_force"], body["qty"]) == ("BTC/USD", "gtc", "0.001")
    assert ctx.position("BTC/USD").qty == pytest.approx(0.001)


def test_an_explicit_crypto_tif_is_kept() -> None:
    s = BuyOnce(
        symbols=["BTC/USD"], params={"symbol": "BTC/USD", "qty": 0.001, "time_in_force": "ioc"}
    )
    body = _body(run_on_events(s, _quotes(), risk=RiskConfig(price_band_pct=50)))
    assert body["time_in_force"] == "ioc"


def test_a_stock_order_keeps_its_day_default() -> None:
    s = BuyOnce(symbols=["AAPL"], params={"symbol": "aapl", "qty": 1})
    body = _body(run_on_events(s, [Quote("AAPL", 99.9, 100.1, 1, 1)]))
    assert (body["symbol"], body["time_in_force"]) == ("AAPL", "day")


@pytest.mark.parametrize("raw", ["BTC/USD", "btc/usd", " Btc/Usd "])
def test_a_pair_normalises_to_its_instrument_key(raw: str) -> None:
    assert normalize_symbol(raw) == "BTC/USD"


def test_a_bare_pair_is_a_pair_only_when_the_asset_class_says_so() -> None:
    assert normalize_symbol("BTCUSD", "crypto") == "BTC/USD"
    assert normalize_symbol("btcusd") == "BTCUSD"  # without the class, the stock rule, unchanged
    assert normalize_symbol("aapl", "us_equity") == "AAPL"
