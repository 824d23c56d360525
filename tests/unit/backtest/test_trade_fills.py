"""Fills on trades and bars alone (issue 23): while a symbol has had no quote in the backtest,
its last trade print (absent trades, its last bar's close) stands in as a zero-spread touch;
once a quote arrives, quotes rule again and trades keep only their queue-model role."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradewire import Strategy
from tradewire.backtest.broker import BacktestBroker
from tradewire.backtest.latency import parse_latency_model
from tradewire.backtest.node import BacktestNode
from tradewire.engine.config import RiskConfig
from tradewire.engine.journal.store import Journal
from tradewire.venues.polygon.crypto import CryptoMinuteAggregate, CryptoQuote, CryptoTrade
from tradewire.venues.polygon.messages import Trade

MODELS = pytest.mark.parametrize("model", ["touch", "queue"])
T0 = 1_767_268_800_000_000_000
MINUTE_NS = 60_000_000_000


def broker_(model: str) -> BacktestBroker:
    return BacktestBroker(fill_model=model, seed=0, starting_cash=Decimal(1_000_000))


def xt(price: float, size: float = 0.5, ts: int = 1) -> CryptoTrade:
    return CryptoTrade("BTC-USD", price, size, timestamp=ts)


def xa(close: float, volume: float = 2.0, start: int = 0) -> CryptoMinuteAggregate:
    return CryptoMinuteAggregate(
        "BTC-USD", open=close, close=close, high=close, low=close, volume=volume, start=start
    )


def buy(broker: BacktestBroker, qty: str, limit: str | None = None, symbol: str = "BTC/USD"):
    body: dict[str, object] = {"symbol": symbol, "qty": qty, "side": "buy"}
    body |= {"type": "limit", "limit_price": limit} if limit else {"type": "market"}
    body["time_in_force"] = "gtc" if "/" in symbol else "day"
    return broker.submit(body)


def fills(execs: list[Any]) -> list[tuple[str, Decimal, Decimal]]:
    return [(e.event, e.qty, e.price) for e in execs if e.qty is not None]


@MODELS
def test_a_market_buy_fills_at_the_last_trade_price(model: str) -> None:
    broker = broker_(model)
    for price in (65_000.0, 65_010.0, 64_995.5):
        assert broker.trade(xt(price)) == []  # nothing working: nothing to fill
    _, execs = buy(broker, "0.01")
    assert fills(execs) == [("fill", Decimal("0.01"), Decimal("64995.5"))]
    assert broker.book.positions["BTC/USD"].qty == Decimal("0.01")


@MODELS
def test_a_resting_limit_fills_when_a_print_reaches_its_price_not_before(model: str) -> None:
    broker = broker_(model)
    broker.trade(xt(65_000.0))
    order, execs = buy(broker, "0.01", limit="64980")
    assert fills(execs) == []  # the print is above the limit
    assert order.is_open
    assert broker.trade(xt(64_990.0)) == []
    assert broker.trade(xt(64_980.5)) == []
    assert fills(broker.trade(xt(64_980.0))) == [("fill", Decimal("0.01"), Decimal("64980"))]
    assert not order.is_open


def test_once_a_quote_arrives_fills_follow_the_quote_and_prints_no_longer_touch() -> None:
    broker = broker_("touch")
    broker.trade(xt(65_000.0))
    _, execs = buy(broker, "0.01")
    assert fills(execs) == [("fill", Decimal("0.01"), Decimal("65000"))]  # the print
    broker.quote(CryptoQuote("BTC-USD", 64_900.0, 0.5, 64_950.0, 0.5, 2))
    broker.trade(xt(65_100.0))  # a print after the quote is no touch
    _, execs = buy(broker, "0.01")
    assert fills(execs) == [("fill", Decimal("0.01"), Decimal("64950"))]  # the quote's ask
    _, execs = buy(broker, "0.01", limit="64800")
    assert fills(execs) == []
    assert broker.trade(xt(64_700.0)) == []  # a print through it: the touch model waits
    assert fills(broker.quote(CryptoQuote("BTC-USD", 64_700.0, 1, 64_800.0, 1, 3))) == [
        ("fill", Decimal("0.01"), Decimal("64800"))
    ]


def test_a_quote_pending_at_the_broker_outranks_the_last_print() -> None:
    # The node hands a quote of a symbol with nothing working to ``last_quotes`` (the
    # broker prices it only when an order arrives): it ends the stand-in all the same.
    broker = broker_("touch")
    broker.trade(xt(65_000.0))
    broker.last_quotes["BTC/USD"] = CryptoQuote("BTC-USD", 64_900.0, 0.5, 64_950.0, 0.5, 2)
    broker.trade(xt(65_100.0))
    _, execs = buy(broker, "0.01")
    assert fills(execs) == [("fill", Decimal("0.01"), Decimal("64950"))]


def test_after_a_quote_the_queue_model_fills_from_prints_behind_the_queue_again() -> None:
    broker = broker_("queue")
    broker.trade(xt(65_000.0))
    broker.quote(CryptoQuote("BTC-USD", 64_900.0, 0.3, 64_950.0, 0.5, 2))
    buy(broker, "0.01", limit="64900")  # 0.3 BTC ahead of it
    assert broker.trade(xt(64_900.0, size=0.2)) == []
    assert fills(broker.trade(xt(64_900.0, size=0.2))) == [
        ("fill", Decimal("0.01"), Decimal("64900"))
    ]


@MODELS
def test_absent_trades_a_bars_close_stands_in_and_a_print_outranks_it(model: str) -> None:
    broker = broker_(model)
    assert broker.bar(xa(65_000.0)) == []
    _, execs = buy(broker, "0.01")
    assert fills(execs) == [("fill", Decimal("0.01"), Decimal("65000"))]
    buy(broker, "0.01", limit="64980")
    assert broker.bar(xa(64_990.0)) == []
    assert fills(broker.bar(xa(64_980.0))) == [("fill", Decimal("0.01"), Decimal("64980"))]

    broker.trade(xt(64_500.0))
    assert broker.bar(xa(70_000.0)) == []  # once the pair has traded, bars no longer touch
    _, execs = buy(broker, "0.01")
    assert fills(execs) == [("fill", Decimal("0.01"), Decimal("64500"))]


def test_a_stock_without_quotes_fills_on_its_prints_too() -> None:
    broker = broker_("touch")
    broker.trade(Trade("AAPL", 190.25, 300, timestamp=1))
    _, execs = buy(broker, "10", symbol="AAPL")
    assert fills(execs) == [("fill", Decimal("10"), Decimal("190.25"))]


# -- through the node: the broker hears prints and bars of a symbol with nothing working --


class BuysOnPrints(Strategy):
    """On its first print or bar: a market buy and a limit buy 20 below it."""

    def on_start(self) -> None:
        self.fills: list[Any] = []
        self.ordered = False

    def on_trade(self, trade: Any) -> None:
        self._order(trade.price)

    def on_bar(self, bar: Any) -> None:
        self._order(bar.close)

    def _order(self, price: float) -> None:
        if not self.ordered:
            self.ordered = True
            self.buy("BTC/USD", 0.001)
            self.buy("BTC/USD", 0.002, limit_price=price - 20)

    def on_fill(self, update: Any) -> None:
        self.fills.append((update.fill_qty, update.fill_price))


PRICES = (65_000.0, 65_010.0, 64_995.0, 64_985.0, 64_980.0, 65_000.0)


@pytest.mark.parametrize("latency", ["zero", "constant:50"])
@pytest.mark.parametrize("kind", ["trades", "bars"])
def test_a_backtest_on_prints_or_bars_alone_fills_its_orders(
    tmp_path: Path, latency: str, kind: str
) -> None:
    if kind == "trades":
        events = [xt(p, ts=(T0 + i * 10**9) // 10**6) for i, p in enumerate(PRICES)]
        step = 10**9
    else:
        events = [xa(p, start=(T0 + i * MINUTE_NS) // 10**6) for i, p in enumerate(PRICES)]
        step = MINUTE_NS
    s = BuysOnPrints(symbols=["BTC/USD"])
    node = BacktestNode(
        [s],
        journal=Journal(tmp_path / "bt.twj", fsync="never"),
        broker=broker_("touch"),
        latency=parse_latency_model(latency),
        risk_config=RiskConfig(reference_price="quote_or_last_trade"),
    )
    node.run([(T0 + i * step, [ev]) for i, ev in enumerate(events)])
    assert s.fills == [(0.001, 65_000.0), (0.002, 64_980.0)]
    assert s.position("BTC/USD").qty == pytest.approx(0.003)
    assert node.denied == 0
