"""Multi-leg options orders (issue 24): one order to the engine (one client_order_id, one row
of the state machine) whose legs are positions; Alpaca's real ``mleg`` payload (empty symbol
and side, legs with ratio_qty) is read, adopted when placed elsewhere, its fills reach the
legs' positions, and the journal replays them to the same book."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from tradewire import Leg, Quote, Strategy
from tradewire.engine import orders as o
from tradewire.engine.journal.replay import replay
from tradewire.engine.journal.store import Journal, read_journal
from tradewire.engine.ledger import Ledger
from tradewire.engine.multileg import LegFill, combo_symbol, net_price, normalize_legs
from tradewire.engine.positions import PositionBook
from tradewire.engine.translate import events_from_fact
from tradewire.testing import FakeContext
from tradewire.venues.alpaca.messages import Order as BrokerOrder
from tradewire.venues.alpaca.reports import fact_from, is_leg, leg_fill

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures/alpaca/options/getallorders_examples.json"
LOW, HIGH = "AAPL241213C00250000", "AAPL241213C00260000"


def _mleg() -> BrokerOrder:
    raw = json.loads(FIXTURE.read_text())["MultilegOptions"]
    return msgspec.json.decode(json.dumps(raw), type=BrokerOrder)


def _ledger(tmp_path: Path) -> Ledger:
    return Ledger(o.OrderManager(), PositionBook(), Journal(tmp_path / "j.twj"))


def test_the_real_mleg_order_is_one_fact_with_its_legs() -> None:
    fact = fact_from(_mleg())
    assert fact.symbol == combo_symbol(fact.legs) == f"{LOW}+{HIGH}"
    assert [(leg.symbol, leg.ratio, leg.side, leg.intent) for leg in fact.legs] == [
        (LOW, 3, "buy", "buy_to_open"),
        (HIGH, 1, "sell", "sell_to_open"),
    ]
    assert fact.qty == 1
    assert fact.filled_avg_price == pytest.approx(1.28)
    assert fact.leg_fills == (LegFill(LOW, 3.0, 0.43), LegFill(HIGH, 1.0, 0.01))
    # the net per unit is the legs' prices times their ratios: 3 x 0.43 - 1 x 0.01
    assert net_price(fact.legs, [0.43, 0.01]) == pytest.approx(1.28)
    legs = _mleg().legs or []
    assert is_leg(legs[0])
    assert not is_leg(_mleg())
    assert leg_fill(legs[1]) == LegFill(HIGH, 1.0, 0.01)


def test_an_mleg_order_placed_elsewhere_is_adopted_and_its_fills_reach_each_leg(
    tmp_path: Path,
) -> None:
    ledger = _ledger(tmp_path)
    fact = fact_from(_mleg())
    assert ledger.adopt_external(fact, ref_price=0.0)
    ledger.apply_all(fact.client_order_id, events_from_fact(fact))
    order = ledger.oms.orders[fact.client_order_id]
    assert order.status is o.OrderStatus.FILLED
    assert order.filled_qty == 1
    assert ledger.book.get(LOW).qty == 3
    assert ledger.book.get(LOW).avg_price == pytest.approx(0.43)
    assert ledger.book.get(HIGH).qty == -1
    # the same fact again (the stream and a reconciliation both report it) books nothing
    ledger.apply_all(fact.client_order_id, events_from_fact(fact))
    assert ledger.book.get(LOW).qty == 3
    assert ledger.book.get(HIGH).qty == -1
    # and the journal replays to the same book
    ledger.journal.close()
    result = replay(read_journal(tmp_path / "j.twj").records)
    assert result.book.get(LOW).qty == 3
    assert result.book.get(HIGH).qty == -1
    assert result.manager.orders[fact.client_order_id].legs == order.legs


def test_legs_that_fill_apart_book_their_positions_before_any_whole_unit(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    fact = fact_from(_mleg())
    ledger.adopt_external(fact, ref_price=0.0)
    cid = fact.client_order_id
    ledger.apply(cid, o.New(fact.broker_id))
    first = o.PartialFill("leg:a", 0.0, 0.0, None, None, (LegFill(LOW, 2.0, 0.40),))
    applied = ledger.apply(cid, first)
    assert applied is not None
    assert ledger.oms.orders[cid].status is o.OrderStatus.PARTIALLY_FILLED
    assert ledger.oms.orders[cid].filled_qty == 0  # no whole unit yet
    assert ledger.book.get(LOW).qty == 2
    # the broker's cumulative 3 at 0.43 books the third at the price that makes our average
    # the broker's: (3 x 0.43 - 2 x 0.40) / 1 = 0.49
    ledger.apply_all(cid, events_from_fact(fact))
    assert ledger.book.get(LOW).qty == 3
    assert ledger.book.get(LOW).avg_price == pytest.approx(0.43)
    assert ledger.book.get(HIGH).qty == -1


@pytest.mark.parametrize(
    ("legs", "match"),
    [
        ([Leg(LOW, 1, "buy")], "2 to 4 legs"),
        ([Leg(LOW, 1, "buy"), Leg(LOW, 1, "sell")], "repeats"),
        ([Leg(LOW, 1, "buy"), Leg("AAPL", 1, "sell")], "not an option"),
        ([Leg(LOW, 0, "buy"), Leg(HIGH, 1, "sell")], "ratio"),
        ([Leg(LOW, 1), Leg(HIGH, 1, "sell")], "side or an intent"),
        ([Leg(LOW, 1, "buy", "sell_to_open"), Leg(HIGH, 1, "sell")], "contradicts"),
    ],
)
def test_bad_legs_are_refused_naming_the_leg(legs: list[Leg], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        normalize_legs(legs)


class _Vertical(Strategy):
    """Buys one call vertical at a debit limit on the first quote of both legs."""

    limit = 1.5

    def on_start(self) -> None:
        self.handle = None

    def on_quote(self, quote: Quote) -> None:
        if self.handle is None and self.mid(LOW) and self.mid(HIGH):
            legs = [Leg(LOW, 1, "buy", "buy_to_open"), Leg(HIGH, 1, "sell", "sell_to_open")]
            self.handle = self.submit_multileg(legs, 2, limit_price=self.limit)


def _quotes() -> list[Quote]:
    return [Quote(LOW, 3.0, 3.2, 10, 10), Quote(HIGH, 1.9, 2.0, 10, 10)]


def test_a_strategy_sends_one_vertical_and_each_leg_becomes_a_position() -> None:
    strategy = _Vertical(symbols=[LOW, HIGH])
    ctx = FakeContext(strategy).start()
    ctx.feed(_quotes())
    handle = strategy.handle
    assert handle is not None
    assert handle.denied is None
    assert handle.status == "filled"
    assert handle.filled_avg_price == pytest.approx(1.3)  # 3.2 - 1.9
    assert [leg.symbol for leg in handle.legs] == [LOW, HIGH]
    assert len(ctx.venue.multileg) == 1
    body = msgspec.json.decode(msgspec.json.encode(ctx.venue.multileg[0]))
    assert body["order_class"] == "mleg"
    assert "symbol" not in body
    assert body["legs"][1] == {
        "symbol": HIGH,
        "ratio_qty": "1",
        "side": "sell",
        "position_intent": "sell_to_open",
    }
    assert ctx.position(LOW).qty == 2
    assert ctx.position(HIGH).qty == -2
    # cash: 2 units x 1.30 net x 100 shares
    assert float(strategy.cash) == pytest.approx(100_000 - 260.0)


def test_a_credit_limit_rests_until_the_net_reaches_it() -> None:
    strategy = _Vertical(symbols=[LOW, HIGH])
    strategy.limit = 1.0  # pay at most 1.00 for a spread offered at 1.30
    ctx = FakeContext(strategy).start()
    ctx.feed(_quotes())
    handle = strategy.handle
    assert handle is not None
    assert handle.status == "new"
    ctx.feed([Quote(LOW, 2.8, 2.95, 10, 10)])  # 2.95 - 1.90 = 1.05: still above
    assert handle.status == "new"
    ctx.feed([Quote(HIGH, 2.0, 2.1, 10, 10)])  # 2.95 - 2.00 = 0.95
    assert handle.status == "filled"
    assert ctx.position(HIGH).qty == -2


class _OneShot(Strategy):
    """Sends one order (given at construction) on the first quote of its contract."""

    order: tuple[str, float] = ("buy", 1)

    def on_start(self) -> None:
        self.handle = None

    def on_quote(self, quote: Quote) -> None:
        if self.handle is None:
            side, qty = self.order
            self.handle = self.buy(LOW, qty) if side == "buy" else self.sell(LOW, qty)


def test_a_single_option_order_meets_the_options_rules_and_books_through_the_multiplier() -> None:
    buyer = _OneShot(symbols=[LOW])
    ctx = FakeContext(buyer).start()
    ctx.feed([Quote(LOW, 3.0, 3.2, 10, 10)])
    assert buyer.handle is not None
    assert buyer.handle.status == "filled"
    assert ctx.position(LOW).qty == 1
    assert float(buyer.cash) == pytest.approx(100_000 - 320.0)  # 1 contract x 3.20 x 100
    seller = _OneShot(symbols=[LOW])
    seller.order = ("sell", 1)
    ctx = FakeContext(seller).start()
    ctx.feed([Quote(LOW, 3.0, 3.2, 10, 10)])
    assert seller.handle is not None
    assert seller.handle.denied is not None
    assert seller.handle.denied.startswith("naked_short (options)")
    big = _OneShot(symbols=[LOW])
    big.order = ("buy", 11)
    ctx = FakeContext(big).start()
    ctx.feed([Quote(LOW, 3.0, 3.2, 10, 10)])
    assert big.handle is not None
    assert big.handle.denied is not None
    assert big.handle.denied.startswith("max_contracts (options)")


def test_a_settlement_is_journaled_and_replayed_to_the_same_book(tmp_path: Path) -> None:
    from tradewire.engine.events import OptionSettled

    ledger = _ledger(tmp_path)
    ledger.book.apply_fill(LOW, "buy", 2, 3.0)
    ledger.book.apply_fill(HIGH, "sell", 1, 1.0)
    exercised = OptionSettled(LOW, -2.0, 250.0, "OPEXC", "a1")
    assigned = OptionSettled(HIGH, 1.0, 260.0, "OPASN", "a2")
    assert ledger.record(exercised)
    assert ledger.record(assigned)
    assert not ledger.record(exercised)  # one activity books once
    assert ledger.book.qty(LOW) == 0
    assert ledger.book.qty(HIGH) == 0
    assert ledger.book.qty("AAPL") == 200 - 100  # +200 called in, -100 called away
    ledger.journal.close()
    result = replay(read_journal(tmp_path / "j.twj").records)
    assert result.book.qty("AAPL") == 100
    assert result.fee_ids == {"a1", "a2"}
