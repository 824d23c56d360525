"""Crypto in a backtest (issue 23): the broker fills pairs against crypto quotes and trades."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from tradewire import Strategy
from tradewire.backtest.broker import BacktestBroker
from tradewire.backtest.latency import parse_latency_model
from tradewire.backtest.node import BacktestNode
from tradewire.engine.config import RiskConfig
from tradewire.engine.journal.store import Journal
from tradewire.venues.polygon.crypto import CryptoQuote, CryptoTrade

T0 = 1_767_268_800_000_000_000


def crypto_quotes(n: int) -> list[tuple[int, list[Any]]]:
    return [
        (T0 + i * 1_000_000_000, [CryptoQuote("BTC-USD", 64999.5, 0.5, 65001.0, 0.25, T0 // 10**6)])
        for i in range(n)
    ]


class BuysBitcoin(Strategy):
    def on_start(self) -> None:
        self.fills: list[Any] = []
        self.quotes = 0

    def on_quote(self, quote: Any) -> None:
        self.quotes += 1
        if not self.open_orders() and not self.position("BTC/USD").qty:
            self.buy("BTC/USD", 0.001)

    def on_fill(self, update: Any) -> None:
        self.fills.append(update)


def _node(tmp_path: Path, s: Strategy) -> tuple[BacktestNode, BacktestBroker]:
    broker = BacktestBroker(fill_model="touch", seed=0, starting_cash=Decimal(100_000))
    n = BacktestNode(
        [s],
        journal=Journal(tmp_path / "bt.twj", fsync="never"),
        broker=broker,
        latency=parse_latency_model("zero"),
        risk_config=RiskConfig(price_band_pct=50),
        starting_cash=100_000.0,
    )
    return n, broker


def test_a_crypto_buy_fills_at_the_recorded_ask_with_the_pairs_increments(tmp_path: Path) -> None:
    s = BuysBitcoin(symbols=["BTC/USD"])
    n, broker = _node(tmp_path, s)
    n.run(crypto_quotes(3))
    assert s.quotes == 3
    assert len(s.fills) == 1
    assert s.position("BTC/USD").qty == 0.001
    fill = s.fills[0]
    assert (fill.fill_price, fill.fill_qty) == (65001.0, 0.001)
    assert "BTC/USD" in broker.book.crypto
    assert broker.book.positions["BTC/USD"].qty == Decimal("0.001")


def test_the_broker_takes_crypto_quotes_and_trades_keyed_by_the_pair() -> None:
    broker = BacktestBroker(fill_model="queue", seed=0, starting_cash=Decimal(100_000))
    assert broker.quote(CryptoQuote("BTC-USD", 100.0, 0.5, 101.0, 0.25, 1)) == []
    nbbo = broker.book.quotes["BTC/USD"]
    assert (nbbo.bid_size, nbbo.ask_size) == (0.5, 0.25)  # coins, not round lots
    order, execs = broker.submit(
        {
            "symbol": "BTC/USD",
            "qty": "0.001",
            "side": "buy",
            "type": "limit",
            "limit_price": "100",
            "time_in_force": "gtc",
        }
    )
    assert [e.event for e in execs] == ["new"]
    assert order.is_open
    execs = broker.trade(CryptoTrade("BTC-USD", 99.0, 0.01, timestamp=2))
    assert [(e.event, e.order.filled_qty) for e in execs] == [("fill", Decimal("0.001"))]
