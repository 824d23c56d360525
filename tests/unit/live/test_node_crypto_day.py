"""The live node rolls the crypto day (UTC) in its tick, beside the equity session (issue 23)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tradewire.live.node import TradingNode, Venues


def test_the_tick_rolls_the_crypto_day_from_the_pairs_pnl(tmp_path: Path) -> None:
    venues = Venues.simulator("ws://127.0.0.1:1/stocks", "http://127.0.0.1:1", "ws://127.0.0.1:1")
    node = TradingNode(venues, [], journal_path=tmp_path / "j.twj")
    node.book.apply_fill("BTC/USD", "buy", 1.0, 50_000.0)
    node.book.apply_fill("BTC/USD", "sell", 1.0, 49_000.0)  # -1,000 on the pair
    node.book.apply_fill("AAPL", "buy", 10, 100.0)
    node.book.apply_fill("AAPL", "sell", 10, 90.0)  # -100 on the stock: not crypto's
    node.risk.crypto_day.day = "2000-01-01"  # the last crypto day seen: long ago

    async def tick() -> None:
        node._tick()

    asyncio.run(tick())
    node.journal.close()
    assert node.risk.crypto_day.day != "2000-01-01"
    assert node.risk.crypto_day_start_pnl == -1_000.0
