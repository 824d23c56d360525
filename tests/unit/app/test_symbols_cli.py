"""Lower-case tickers mean upper case for a worker's --symbols and a strategy's own orders."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from tradewire.app import worker
from tradewire.engine.loading import StrategyConfig, load_strategy
from tradewire.engine.strategy import OrderHandle, Strategy
from tradewire.errors import ConfigError

ROOT = Path(__file__).parents[3]
STRATEGY = f"{ROOT}/examples/mean_reversion.py:MeanReversion"


def test_a_worker_takes_lower_case_symbols_as_upper_case():
    args = argparse.Namespace(
        gateway="shm://x", strategy=STRATEGY, symbols="aapl, msft", params="{}", name=None
    )
    args.config, args.conflate = None, False
    _, _, strategies = worker._setup(args)
    assert strategies[0].symbols == ["AAPL", "MSFT"]


def test_load_strategy_normalizes_and_names_what_is_no_ticker():
    assert load_strategy(StrategyConfig(STRATEGY, ["spy"])).symbols == ["SPY"]
    with pytest.raises(ConfigError, match="'S P' is not a ticker"):
        load_strategy(StrategyConfig(STRATEGY, ["S P"]))


class _Context:
    def __init__(self) -> None:
        self.symbols: list[str] = []

    def submit(self, strategy: Strategy, symbol: str, *args: Any, **kw: Any) -> OrderHandle:
        self.symbols.append(symbol)
        return OrderHandle("c", symbol, "buy", 1, "market", None)


def test_a_strategy_order_for_aapl_is_an_order_for_AAPL():
    # Before: "aapl" went to risk and the broker as given: no quote, no position matched it.
    strategy = Strategy(symbols=["AAPL"], params={}, name="s")
    context = _Context()
    strategy.bind(context)  # type: ignore[arg-type]
    strategy.buy("aapl", 1)
    strategy.sell("AAPL", 1)
    strategy.buy("$$", 1)  # no ticker at all: left for risk or the venue to refuse
    assert context.symbols == ["AAPL", "AAPL", "$$"]
