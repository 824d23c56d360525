"""Notional orders in the strategy API (issue 23): ``buy("BTC/USD", notional=250)`` spends
dollars, not units. qty xor notional, with one clear denial otherwise; risk counts the order
by its USD value and its units estimated at the reference price; the intent is journaled with
its notional; the fills are booked as they come, at the asset's increment."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from tradewire import Strategy
from tradewire.engine.config import RiskConfig
from tradewire.engine.journal.record import Record
from tradewire.engine.journal.replay import replay
from tradewire.engine.orders import OrderStatus
from tradewire.testing import FakeContext, run_on_events
from tradewire.venues.polygon.crypto import CryptoQuote
from tradewire.venues.polygon.messages import Quote

# Every case on the native risk rules and on their pure-Python twin (issue 26).
pytestmark = pytest.mark.usefixtures("order_path")

RISK = RiskConfig(price_band_pct=50)


class Once(Strategy):
    """On the first quote, ``params["side"]`` with the other params as keywords."""

    def on_start(self) -> None:
        self.kw: dict[str, Any] = dict(self.params)
        self.handle: Any = None

    def on_quote(self, quote: Any) -> None:
        if self.handle is None:
            side = self.kw.pop("side", "buy")
            symbol = self.kw.pop("symbol")
            self.handle = getattr(self, side)(symbol, **self.kw)


def _btc(bid: float = 59_990.0, ask: float = 60_000.0) -> list[CryptoQuote]:
    return [CryptoQuote("BTC-USD", bid_price=bid, ask_price=ask, timestamp=1_767_268_800_000)]


def _body(ctx: Any) -> dict[str, Any]:
    assert len(ctx.orders) == 1, [h.denied for h in ctx.core.handles.values()]
    return msgspec.json.decode(msgspec.json.encode(ctx.orders[0]))


def test_a_notional_crypto_buy_fills_the_dollars_at_the_assets_increment() -> None:
    s = Once(symbols=["BTC/USD"], params={"symbol": "BTC/USD", "notional": 250})
    ctx = run_on_events(s, _btc(), risk=RISK, stop=False)
    body = _body(ctx)
    assert body["notional"] == "250"
    assert body.get("qty") is None
    assert (body["symbol"], body["type"], body["time_in_force"]) == ("BTC/USD", "market", "gtc")
    # 250 / 60,000 = 0.0041666…, down to BTC/USD's 0.0001 increment
    assert s.handle.status == "filled"
    assert s.handle.notional == 250
    assert ctx.position("BTC/USD").qty == pytest.approx(0.0041)
    assert s.handle.filled_qty == pytest.approx(0.0041)
    order = ctx.ledger.oms.orders[s.handle.client_order_id]
    assert (order.qty, order.notional) == (0.0, 250.0)
    assert ctx.core.cash == Decimal("100000") - Decimal("246.00")


def test_the_intent_is_journaled_with_its_notional() -> None:
    s = Once(symbols=["BTC/USD"], params={"symbol": "BTC/USD", "notional": 250})
    ctx = FakeContext(s, risk=RISK)
    seen: list[tuple[str, str, dict[str, Any]]] = []
    append = ctx.journal.append

    def record(kind: str, cid: str, data: dict[str, Any], **kw: Any) -> Any:
        seen.append((kind, cid, data))
        return append(kind, cid, data, **kw)

    ctx.journal.append = record  # type: ignore[method-assign]
    ctx.start().feed(_btc())
    intents = [data for kind, _, data in seen if kind == "intent"]
    assert intents
    assert intents[0]["notional"] == 250.0
    assert intents[0]["qty"] == 0.0


@pytest.mark.parametrize("order_type", ["limit", "stop_limit"])
def test_a_notional_crypto_limit_and_stop_limit_are_built(order_type: str) -> None:
    kw: dict[str, Any] = {"symbol": "BTC/USD", "notional": 100, "limit_price": 59_000.0}
    if order_type == "stop_limit":
        kw["stop_price"] = 61_000.0
    s = Once(symbols=["BTC/USD"], params=kw)
    body = _body(run_on_events(s, _btc(), risk=RISK))
    assert (body["type"], body["notional"], body["limit_price"]) == (order_type, "100", "59000")


def test_a_notional_crypto_sell_of_what_is_held() -> None:
    class BuyThenSell(Strategy):
        def on_quote(self, quote: Any) -> None:
            if not self.position("BTC/USD").qty:
                self.buy("BTC/USD", 0.01)
            elif not self.open_orders() and not getattr(self, "sold", None):
                self.sold = self.sell("BTC/USD", notional=300)

    s = BuyThenSell(symbols=["BTC/USD"])
    ctx = run_on_events(s, _btc() + _btc(), risk=RISK, stop=False)
    assert s.sold.denied is None
    assert s.sold.status == "filled"
    # 300 / 59,990 = 0.005000…, down to 0.005
    assert ctx.position("BTC/USD").qty == pytest.approx(0.005)


@pytest.mark.parametrize(
    "kw",
    [{"qty": 0.001, "notional": 250}, {}],
    ids=["both", "neither"],
)
def test_qty_xor_notional_is_one_clear_denial(kw: dict[str, Any]) -> None:
    s = Once(symbols=["BTC/USD"], params={"symbol": "BTC/USD", **kw})
    ctx = run_on_events(s, _btc(), risk=RISK)
    assert s.handle.denied == "invalid: give exactly one of qty and notional"
    assert not ctx.orders


def test_risk_checks_a_notional_order_by_its_usd_value() -> None:
    risk = RiskConfig.model_validate({"price_band_pct": 50, "crypto": {"max_order_notional": 200}})
    s = Once(symbols=["BTC/USD"], params={"symbol": "BTC/USD", "notional": 250})
    run_on_events(s, _btc(), risk=risk)
    assert s.handle.denied == "max_notional (crypto): 250.00 > 200.00"


def test_risk_estimates_a_notional_orders_units_at_the_reference_price() -> None:
    risk = RiskConfig.model_validate({"price_band_pct": 50, "crypto": {"max_position_qty": 0.004}})
    s = Once(symbols=["BTC/USD"], params={"symbol": "BTC/USD", "notional": 250})
    run_on_events(s, _btc(), risk=risk)
    assert s.handle.denied is not None
    assert s.handle.denied.startswith("max_position (crypto)")


def test_a_notional_order_with_no_reference_price_is_denied() -> None:
    class Early(Strategy):
        def on_start(self) -> None:
            self.h = self.buy("BTC/USD", notional=250)

    s = Early(symbols=["BTC/USD"])
    run_on_events(s, [], risk=RISK)
    assert s.h.denied == "no_reference_price: no reference price for BTC/USD"


def test_a_notional_stock_market_day_order() -> None:
    q = Quote("AAPL", bid_price=99.0, ask_price=100.0, timestamp=1)
    s = Once(symbols=["AAPL"], params={"symbol": "AAPL", "notional": 250})
    ctx = run_on_events(s, [q], risk=RISK, stop=False)
    body = _body(ctx)
    assert (body["notional"], body["time_in_force"], body.get("qty")) == ("250", "day", None)
    assert ctx.position("AAPL").qty == pytest.approx(2.5)


def test_a_notional_stock_limit_order_is_refused_by_the_venue_rule() -> None:
    q = Quote("AAPL", bid_price=99.0, ask_price=100.0, timestamp=1)
    s = Once(symbols=["AAPL"], params={"symbol": "AAPL", "notional": 250, "limit_price": 99.0})
    ctx = run_on_events(s, [q], risk=RISK)
    assert s.handle.denied is not None
    assert s.handle.denied.startswith("invalid: ")
    assert "notional" in s.handle.denied
    assert not ctx.orders


def test_submit_takes_a_notional() -> None:
    class Sub(Strategy):
        def on_quote(self, quote: Any) -> None:
            if not hasattr(self, "h"):
                self.h = self.submit("BTC/USD", "buy", notional=50.5, order_type="market")

    s = Sub(symbols=["BTC/USD"])
    ctx = run_on_events(s, _btc(), risk=RISK, stop=False)
    assert _body(ctx)["notional"] == "50.5"
    assert s.h.status == "filled"


def test_a_restart_replays_a_notional_order_with_its_notional_and_fills() -> None:
    s = Once(symbols=["BTC/USD"], params={"symbol": "BTC/USD", "notional": 250})
    ctx = FakeContext(s, risk=RISK)
    records: list[Record] = []
    append = ctx.journal.append

    def record(kind: str, cid: str, data: dict[str, Any], **kw: Any) -> Any:
        records.append(
            Record(kind, cid, kw.get("ts_ns") or 1, msgspec.json.decode(msgspec.json.encode(data)))
        )
        return append(kind, cid, data, **kw)

    ctx.journal.append = record  # type: ignore[method-assign]
    ctx.start().feed(_btc())
    result = replay(records)
    order = result.manager.orders[s.handle.client_order_id]
    assert (order.qty, order.notional, order.status) == (0.0, 250.0, OrderStatus.FILLED)
    assert result.book.qty("BTC/USD") == pytest.approx(0.0041)


def test_a_resting_notional_order_replaced_keeps_its_notional() -> None:
    class Rests(Strategy):
        def on_quote(self, quote: Any) -> None:
            if not hasattr(self, "h"):
                self.h = self.buy("BTC/USD", notional=250, limit_price=59_000.0)
            elif not hasattr(self, "new"):
                self.new = self.replace(self.h, limit_price=60_000.0)

    s = Rests(symbols=["BTC/USD"])
    ctx = run_on_events(s, _btc() + _btc(), risk=RISK, stop=False)
    assert s.h.status == "replaced"
    assert s.new is not None
    assert s.new.notional == 250
    assert s.new.status == "filled"
    assert ctx.position("BTC/USD").qty == pytest.approx(0.0041)
