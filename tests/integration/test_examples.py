"""The README's strategy and the shipped examples do what their docstrings promise.

The Breakout promises: buy 10 on a breakout, sell at +0.5% — never go short. It used to send
two sells of 10 when two quotes above the target arrived before the first sell filled
(back-to-back quotes, one frame), ending at -10.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

from tradewire import Strategy
from tradewire.engine.config import JournalConfig, RiskConfig
from tradewire.live.node import TradingNode, Venues
from tradewire.sim.venue import VenueConfig, VenueSimulator

ROOT = Path(__file__).parents[2]


def readme_breakout() -> type[Strategy]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Writing a strategy") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), "README.md", "exec"), namespace)  # noqa: S102 - our own README
    return namespace["Breakout"]  # type: ignore[no-any-return]


def shipped_breakout() -> type[Strategy]:
    spec = importlib.util.spec_from_file_location("example_breakout", ROOT / "examples/breakout.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Breakout  # type: ignore[no-any-return]


def quote(bid: float, ask: float) -> dict[str, Any]:
    return {"ev": "Q", "sym": "MSFT", "bp": bid, "bs": 1, "ap": ask, "as": 1, "t": 1}


@pytest.mark.parametrize("load", [readme_breakout, shipped_breakout], ids=["README", "examples"])
async def test_breakout_sells_once_and_never_goes_short(load, tmp_path, until):
    async with VenueSimulator(VenueConfig(symbols=("MSFT",))) as venue:
        strategy = load()(symbols=["MSFT"])
        venues = Venues(
            "sim",
            venue.feed_url,
            venue.broker_url,
            venue.broker.stream_url,
            "test-key",
            "test-key",
            "test-secret",
        )
        node = TradingNode(
            venues,
            [strategy],
            risk_config=RiskConfig(price_band_pct=50),
            journal_config=JournalConfig(fsync="never"),
            journal_path=tmp_path / "j.twj",
        )
        await node.start()
        try:
            # Arrange: a high, then a breakout that buys 10 and fills
            venue.feed.publish([quote(99.98, 100.00)])
            venue.feed.publish([quote(100.99, 101.00)])
            await until(lambda: node.book.qty("MSFT") == 10, timeout_s=10)

            # Act: two quotes above the target in one frame, before any sell can fill
            venue.feed.publish([quote(102.00, 102.01), quote(102.00, 102.01)])
            await until(lambda: not node.oms.open_count and node.book.qty("MSFT") != 10)

            # Assert: one sell of 10, flat, never short
            sells = [o for o in venue.broker.book.orders.values() if o.side == "sell"]
            assert len(sells) == 1
            assert node.book.qty("MSFT") == 0
        finally:
            await node.stop()
