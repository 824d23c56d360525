"""The simulator ``tradewire run`` starts gets the config's crypto pairs as ``--crypto``
(issue 23): before, ``BTC/USD`` went into ``--symbols`` and the simulator refused to start."""

from __future__ import annotations

from tradewire.app.config import AppConfig
from tradewire.app.wiring import sim_args


def _config(symbols: list[str], sim: list[str]) -> AppConfig:
    return AppConfig.model_validate(
        {
            "simulator": {"symbols": sim, "rate": 100, "seed": 3},
            "strategies": [{"path": "x.py:X", "symbols": symbols}],
        }
    )


def test_pairs_go_to_crypto_and_stocks_to_symbols() -> None:
    args = sim_args(_config(["btc/usd", "AAPL", "eth/usd"], ["SPY"]))
    assert args == [
        "--symbols", "AAPL,SPY", "--crypto", "BTC/USD,ETH/USD", "--rate", "100.0", "--seed", "3"
    ]  # fmt: skip


def test_a_stock_only_config_starts_no_crypto() -> None:
    assert "--crypto" not in sim_args(_config(["AAPL"], ["MSFT"]))


def test_pairs_only_still_give_the_simulator_a_stock() -> None:
    assert sim_args(_config(["BTC/USD"], []))[:4] == ["--symbols", "1", "--crypto", "BTC/USD"]
