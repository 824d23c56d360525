from __future__ import annotations

from pathlib import Path

import pytest

from tradewire.engine.loading import StrategyConfig, load_strategy
from tradewire.engine.strategy import Strategy
from tradewire.errors import ConfigError

ROOT = Path(__file__).parents[3]


@pytest.mark.parametrize(
    "path", ["examples/mean_reversion.py:MeanReversion", "examples/breakout.py:Breakout"]
)
def test_shipped_examples_load_by_file_path(path):
    strategy = load_strategy(StrategyConfig(path, ["AAPL"], {"order_qty": 5}), base_dir=ROOT)
    assert isinstance(strategy, Strategy)
    assert strategy.symbols == ["AAPL"]


@pytest.mark.parametrize(
    ("path", "match"),
    [
        ("nocolon", "must look like"),
        ("examples/missing.py:X", "not found"),
        ("tradewire.nope:X", "cannot import"),
        ("tradewire.errors:ConfigError", "not a Strategy"),
    ],
)
def test_bad_strategy_paths_are_config_errors(path, match):
    with pytest.raises(ConfigError, match=match):
        load_strategy(StrategyConfig(path, ["A"]), base_dir=ROOT)


def test_strategy_not_attached_raises_clearly():
    with pytest.raises(RuntimeError, match="not attached"):
        Strategy(symbols=["A"]).buy("A", 1)
