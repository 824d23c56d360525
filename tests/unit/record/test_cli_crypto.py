"""``tradewire record`` with pairs (issue 23): which symbols go to which cluster, as what."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from tradewire.record.cli import channels_of, parse_symbols, split_markets


def test_pairs_and_tickers_are_split_by_market() -> None:
    symbols = parse_symbols("btc/usd,AAPL,ETH/USD")
    assert split_markets(symbols) == (["AAPL"], ["BTC/USD", "ETH/USD"])
    assert split_markets(["*"]) == (["*"], [])


def test_each_cluster_subscribes_its_own_channels() -> None:
    crypto: Any = SimpleNamespace(market="crypto")
    stocks: Any = SimpleNamespace(market="stocks")
    assert channels_of(crypto, ["BTC/USD"]) == ["XQ.BTC-USD", "XT.BTC-USD", "XA.BTC-USD"]
    assert channels_of(stocks, ["AAPL"]) == ["Q.AAPL", "T.AAPL"]
