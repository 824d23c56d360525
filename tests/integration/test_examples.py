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


def node_for(venue: VenueSimulator, strategy: Strategy, tmp_path: Path) -> TradingNode:
    """One strategy on the simulator, with a wide price band (the quotes here jump)."""
    venues = Venues.simulator(venue.feed_url, venue.broker_url, venue.broker.stream_url)
    return TradingNode(
        venues,
        [strategy],
        risk_config=RiskConfig(price_band_pct=50),
        journal_config=JournalConfig(fsync="never"),
        journal_path=tmp_path / "j.twj",
    )


@pytest.mark.parametrize("load", [readme_breakout, shipped_breakout], ids=["README", "examples"])
async def test_breakout_sells_once_and_never_goes_short(load, tmp_path, until):
    async with VenueSimulator(VenueConfig(symbols=("MSFT",))) as venue:
        strategy = load()(symbols=["MSFT"])
        node = node_for(venue, strategy, tmp_path)
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


def shipped_mean_reversion() -> type[Strategy]:
    spec = importlib.util.spec_from_file_location(
        "example_mean_reversion", ROOT / "examples/mean_reversion.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MeanReversion  # type: ignore[no-any-return]


async def test_mean_reversion_does_what_its_docstring_says(tmp_path, until):
    # Its docstring: bid order_qty at the ask when the ask is entry_bps below the average;
    # sell at the bid when long and the bid is exit_bps above the entry; position capped at
    # max_position; one order per symbol in flight; unfilled orders cancelled after the TTL.
    params = {
        "ema_ticks": 9,
        "entry_bps": 5,
        "exit_bps": 5,
        "order_qty": 10,
        "max_position": 20,
        "order_ttl_s": 0.3,
        "cooldown_s": 0,
    }
    async with VenueSimulator(VenueConfig(symbols=("MSFT",))) as venue:
        strategy = shipped_mean_reversion()(symbols=["MSFT"], params=params)
        node = node_for(venue, strategy, tmp_path)
        broker = venue.broker.book

        def orders(side: str) -> list[Any]:
            return [o for o in broker.orders.values() if o.side == side]

        await node.start()
        try:
            venue.feed.publish([quote(99.99, 100.01)] * 5)  # the average settles at 100

            # 1. A dip, but the market moves away in the same frame: the bid rests unfilled
            #    and is cancelled after the TTL.
            venue.feed.publish([quote(99.80, 99.90), quote(100.49, 100.51)])
            await until(lambda: len(orders("buy")) == 1 and not node.oms.open_count)
            first = orders("buy")[0]
            assert float(first.limit_price) == 99.90  # at the ask that triggered it
            assert first.status == "canceled"
            assert node.book.qty("MSFT") == 0

            # 2. Dips that fill: 10 at a time, never above max_position (20).
            def settled(events: int) -> bool:  # the quotes arrived and nothing is open
                return node.counters.events >= events and not node.oms.open_count

            for n in range(4):
                # back to an average of 100, the bid below the exit (99.90 * 1.0005)
                venue.feed.publish([quote(99.94, 100.06)] * 5)
                venue.feed.publish([quote(99.85, 99.90)])
                target = node.counters.events + 6
                await until(lambda target=target: settled(target), timeout_s=10)
                assert node.book.qty("MSFT") == min(10 * (n + 1), 20)
            assert len([o for o in orders("buy") if o.status == "filled"]) == 2

            # 3. The bid rises above the entry: it sells at the bid, down to flat, never short.
            for _ in range(3):
                venue.feed.publish([quote(100.20, 100.30)])
                target = node.counters.events + 1
                await until(lambda target=target: settled(target), timeout_s=10)
            sells = orders("sell")
            assert [float(o.limit_price) for o in sells] == [100.20, 100.20]
            assert node.book.qty("MSFT") == 0
            assert all(float(o.qty) == 10 for o in sells)
        finally:
            await node.stop()
