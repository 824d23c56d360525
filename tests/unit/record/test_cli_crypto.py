"""``tradewire record`` with pairs (issue 23): which symbols go to which cluster, as what."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tradewire.record.cli import (
    BadArgument,
    channels_of,
    parse_args,
    parse_symbols,
    split_markets,
    symbols_by_market,
)


def test_pairs_and_tickers_are_split_by_market() -> None:
    symbols = parse_symbols("btc/usd,AAPL,ETH/USD")
    assert split_markets(symbols) == (["AAPL"], ["BTC/USD", "ETH/USD"])
    assert split_markets(["*"]) == (["*"], [])


def test_each_cluster_subscribes_its_own_channels() -> None:
    crypto: Any = SimpleNamespace(market="crypto")
    stocks: Any = SimpleNamespace(market="stocks")
    assert channels_of(crypto, ["BTC/USD"]) == ["XQ.BTC-USD", "XT.BTC-USD", "XA.BTC-USD"]
    assert channels_of(stocks, ["AAPL"]) == ["Q.AAPL", "T.AAPL"]


def _args(**kw: str | None) -> Any:
    base: dict[str, str | None] = {
        "symbols": "AAPL,BTC/USD",
        "out": "rec",
        "duration": None,
        "feed_url": None,
        "max_bytes": None,
        "rotate_bytes": "64M",
        "flush_ms": "100",
        "flush_frames": "1000",
    }
    return SimpleNamespace(**{**base, **kw})


def test_max_bytes_bounds_the_whole_folder_when_both_markets_record() -> None:
    # Each market's writer keeps half: the crypto/ part lives inside the folder --max-bytes bounds.
    opts = parse_args(_args(max_bytes="1G", rotate_bytes="64M"))
    assert opts.options.max_bytes == 1 << 29
    assert parse_args(_args(symbols="AAPL", max_bytes="1G")).options.max_bytes == 1 << 30
    with pytest.raises(BadArgument, match="twice --rotate-bytes"):
        parse_args(_args(max_bytes="100M", rotate_bytes="64M"))


def test_option_contracts_record_on_the_options_cluster_by_their_massive_ticker() -> None:
    # issue 24: SPY260731P00395000 is recorded over /options into options/, as crypto/.
    symbols = parse_symbols("spy260731p00395000,SPY,BTC/USD")
    assert symbols_by_market(symbols) == {
        "stocks": ["SPY"],
        "crypto": ["BTC/USD"],
        "options": ["SPY260731P00395000"],
    }
    assert symbols_by_market(["SPY260731P00395000"]) == {"options": ["SPY260731P00395000"]}
    options: Any = SimpleNamespace(market="options")
    assert channels_of(options, ["SPY260731P00395000"]) == [
        "Q.O:SPY260731P00395000",
        "T.O:SPY260731P00395000",
        "AM.O:SPY260731P00395000",
    ]
    three = parse_args(_args(symbols="AAPL,BTC/USD,SPY260731P00395000", max_bytes="3G"))
    assert three.options.max_bytes == 1 << 30  # a third each
    with pytest.raises(BadArgument, match="3 times --rotate-bytes"):
        parse_args(_args(symbols="AAPL,BTC/USD,SPY260731P00395000", max_bytes="150M"))
