"""Options in a backtest (issue 24): the backtest broker lists the contracts the data and the
orders name, fills single-leg and mleg orders against option quotes (sizes in contracts),
settles expiries on simulated time, and the node books legs, expiries and chains."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradewire import Leg, OrderUpdate, Quote, Strategy
from tradewire.backtest.broker import BacktestBroker
from tradewire.backtest.latency import parse_latency_model
from tradewire.backtest.node import BacktestNode
from tradewire.backtest.recorded import OptionsOf
from tradewire.engine.config import RiskConfig
from tradewire.engine.journal.replay import replay
from tradewire.engine.journal.store import Journal, read_journal
from tradewire.engine.multileg import LegFill

C600 = "SPY260116C00600000"
C610 = "SPY260116C00610000"
T0 = 1_767_268_800_000_000_000  # 2026-01-01 12:00 UTC
EXPIRED = datetime(2026, 1, 16, 21, 0, 1, tzinfo=UTC)  # past 4 PM ET on 2026-01-16


def oq(symbol: str, bid: float, ask: float, size: float = 5) -> Quote:
    return Quote(symbol, bid, ask, size, size, timestamp=1)


def broker(clock: Any = None) -> BacktestBroker:
    kw = {"clock": clock} if clock is not None else {}
    return BacktestBroker(fill_model="touch", seed=1, starting_cash=Decimal(100_000), **kw)


def vertical(qty: str = "2", limit: str = "4.30") -> dict[str, object]:
    return {
        "type": "limit",
        "time_in_force": "day",
        "client_order_id": "v1",
        "qty": qty,
        "limit_price": limit,
        "order_class": "mleg",
        "legs": [
            {"symbol": C600, "ratio_qty": "1", "side": "buy", "position_intent": "buy_to_open"},
            {"symbol": C610, "ratio_qty": "1", "side": "sell", "position_intent": "sell_to_open"},
        ],
    }


def test_a_single_leg_option_order_fills_at_the_option_quote_with_cash_times_100() -> None:
    b = broker()
    b.quote(oq(C600, 2.00, 2.10, size=7))
    assert b.book.quotes[C600].ask_size == 7  # contracts, not round lots of 100 shares
    order, execs = b.submit(
        {"symbol": C600, "side": "buy", "type": "market", "time_in_force": "day", "qty": "1"}
    )
    assert [(e.event, e.qty, e.price) for e in execs if e.qty is not None] == [
        ("fill", Decimal(1), Decimal("2.1"))
    ]
    assert order.multiplier == 100
    assert b.book.cash == Decimal(100_000) - Decimal(210)
    assert b.book.positions[C600].qty == 1


def test_an_option_quote_waiting_for_an_order_becomes_the_book_nbbo() -> None:
    b = broker()
    b.last_quotes[C600] = oq(C600, 2.00, 2.10, size=3)  # as the node keeps it: no order yet
    _, execs = b.submit(
        {
            "symbol": C600,
            "side": "sell",
            "type": "limit",
            "limit_price": "1.95",
            "time_in_force": "day",
            "qty": "2",
        }
    )
    assert [(e.event, e.price) for e in execs if e.qty is not None] == [("fill", Decimal(2))]
    assert b.book.quotes[C600].bid_size == 3
    assert b.book.positions[C600].qty == -2  # a short option


def test_an_mleg_order_fills_every_leg_and_reports_the_legs_cumulative_figures() -> None:
    b = broker()
    b.last_quotes[C600] = oq(C600, 5.00, 5.20)
    b.last_quotes[C610] = oq(C610, 1.00, 1.10)
    parent, execs = b.submit(vertical())
    fills = [e for e in execs if e.qty is not None]
    assert [(e.event, e.qty, e.price) for e in fills] == [("fill", Decimal(2), Decimal("4.20"))]
    assert b.leg_fills(parent) == (LegFill(C600, 2.0, 5.2), LegFill(C610, 2.0, 1.0))
    assert b.book.positions[C600].qty == 2
    assert b.book.positions[C610].qty == -2
    assert b.book.cash == Decimal(100_000) - Decimal(840)


def test_an_mleg_order_rests_until_the_net_reaches_its_limit() -> None:
    b = broker()
    b.last_quotes[C600] = oq(C600, 5.00, 5.20)
    b.last_quotes[C610] = oq(C610, 0.80, 0.90)
    parent, execs = b.submit(vertical(limit="4.30"))  # net 4.40 > 4.30
    assert [e.event for e in execs] == ["new"]
    assert b.book.live_by_symbol.get(C610)  # the legs' quotes reach the book from now on
    later = b.quote(oq(C610, 0.95, 1.05))  # net 4.25
    assert [(e.event, e.price) for e in later] == [("fill", Decimal("4.25"))]
    assert b.leg_fills(parent)[1] == LegFill(C610, 2.0, 0.95)


def test_expiry_exercises_the_long_itm_call_and_expires_the_otm_one() -> None:
    now = [datetime(2026, 1, 16, 15, 0, tzinfo=UTC)]
    b = broker(lambda: now[0])
    b.last_quotes[C600] = oq(C600, 5.00, 5.20)
    b.last_quotes[C610] = oq(C610, 1.00, 1.10)
    b.submit(vertical(qty="1"))
    assert b.next_expiry_ns == int(datetime(2026, 1, 16, 21, tzinfo=UTC).timestamp() * 1e9)
    b.last_quotes["SPY"] = oq("SPY", 604.99, 605.01)  # the underlying's last mid: 605
    cash = b.book.cash
    now[0] = EXPIRED
    done = b.settle_expiry()
    assert [(a.activity_type, a.symbol) for a in done] == [("OPEXC", C600), ("OPEXP", C610)]
    assert {s: p.qty for s, p in b.book.positions.items()} == {"SPY": 100}
    assert b.book.positions["SPY"].avg_entry_price == 600
    assert b.book.cash == cash - 60_000
    assert b.next_expiry_ns == float("inf")


def test_expiry_assigns_a_short_itm_call() -> None:
    now = [datetime(2026, 1, 16, 15, 0, tzinfo=UTC)]
    b = broker(lambda: now[0])
    b.last_quotes[C600] = oq(C600, 5.00, 5.20)
    b.submit({"symbol": C600, "side": "sell", "type": "market", "time_in_force": "day", "qty": "1"})
    b.last_quotes["SPY"] = oq("SPY", 609.99, 610.01)
    now[0] = EXPIRED
    assert [a.activity_type for a in b.settle_expiry()] == ["OPASN"]
    assert {s: p.qty for s, p in b.book.positions.items()} == {"SPY": -100}


# -- the node: chains from the data, subscribe, an mleg entry, expiry in the engine ----------


class BuysTheVertical(Strategy):
    """Reads the chain the data makes, subscribes to two calls and buys the vertical."""

    def on_start(self) -> None:
        self.legs: list[str] = []
        self.entry: Any = None
        self.heard: dict[str, int] = {}
        self.fills: list[float] = []

    def on_quote(self, quote: Quote) -> None:
        self.heard[quote.symbol] = self.heard.get(quote.symbol, 0) + 1
        if not self.legs:
            calls = self.option_chain("SPY", expiry="nearest", type="call")
            if len(calls) >= 2:
                self.legs = [calls[0].symbol, calls[1].symbol]
                self.subscribe(self.legs)
        elif self.entry is None and all(self.mid(s) is not None for s in self.legs):
            self.entry = self.submit_multileg(
                [Leg(self.legs[0], 1, "buy"), Leg(self.legs[1], 1, "sell")], 1, limit_price=4.30
            )

    def on_fill(self, update: OrderUpdate) -> None:
        self.fills.append(update.fill_qty)


def _node(tmp_path: Path, strategy: Strategy, latency: str = "zero") -> BacktestNode:
    holder: list[BacktestNode] = []
    b = BacktestBroker(
        fill_model="touch",
        seed=0,
        starting_cash=Decimal(100_000),
        clock=lambda: datetime.fromtimestamp(holder[0].now / 1e9, UTC),
    )
    n = BacktestNode(
        [strategy],
        journal=Journal(tmp_path / "bt.twj", fsync="never"),
        broker=b,
        latency=parse_latency_model(latency),
        risk_config=RiskConfig(price_band_pct=50, max_order_notional=1e9, max_position_qty=1e6),
        starting_cash=100_000.0,
    )
    holder.append(n)
    return n


def _session(spy_at_expiry: float) -> list[tuple[int, list[Any]]]:
    s = 1_000_000_000
    out: list[tuple[int, list[Any]]] = [
        (T0, [Quote("SPY", 599.99, 600.01, 1, 1)]),
        (T0 + s, [oq(C610, 1.00, 1.10), oq(C600, 5.00, 5.20)]),  # not the strategy's symbols
        (T0 + 2 * s, [Quote("SPY", 600.00, 600.02, 1, 1)]),
        (T0 + 3 * s, [oq(C600, 5.00, 5.20), oq(C610, 1.00, 1.10)]),
        (T0 + 4 * s, [oq(C600, 5.00, 5.20)]),
        (T0 + 5 * s, [oq(C600, 5.00, 5.20)]),
    ]
    last = int(EXPIRED.timestamp() * 1e9) - 60 * s
    mid = spy_at_expiry
    out.append((last, [Quote("SPY", mid - 0.01, mid + 0.01, 1, 1)]))
    out.append((last + 120 * s, [Quote("SPY", mid - 0.01, mid + 0.01, 1, 1)]))  # past 4 PM ET
    return out


def test_a_backtest_buys_a_vertical_from_the_data_chain_and_settles_it_at_expiry(
    tmp_path: Path,
) -> None:
    s = BuysTheVertical(symbols=["SPY"])
    n = _node(tmp_path, s)
    n.run(_session(605.0))
    assert s.legs == [C600, C610]  # the chain the data held
    assert s.heard.get(C600, 0) >= 2  # subscribed contracts' quotes reach the strategy
    assert s.fills == [1.0]
    assert s.entry.filled_avg_price == 4.20
    # the legs were booked per leg, then the expiry: long 600 exercised, 610 expired
    engine = {sym: (p.qty, p.avg_price) for sym, p in n.book.positions.items() if p.qty}
    broker_side = {
        sym: (float(p.qty), float(p.avg_entry_price)) for sym, p in n.broker.book.positions.items()
    }
    assert engine == broker_side == {"SPY": (100.0, 600.0)}
    # 100 shares worth 605 bought at 600, for a debit of 420: +80
    n.book.mark("SPY", 605.0)
    assert round(n.book.realized + n.book.unrealized, 6) == 80.0
    assert float(n.core.cash) == float(n.broker.book.cash) == 100_000 - 420 - 60_000
    assert n.ledger.settlements == 2  # the 600 call exercised, the 610 call expired
    assert n.ledger.corrections == 0  # booked as the broker's activities, not corrections


def test_the_vertical_expires_worthless_below_both_strikes(tmp_path: Path) -> None:
    s = BuysTheVertical(symbols=["SPY"])
    n = _node(tmp_path, s, "constant:500,800")
    n.run(_session(590.0))
    assert s.fills == [1.0]
    assert {sym: p.qty for sym, p in n.book.positions.items() if p.qty} == {}
    assert n.broker.book.positions == {}
    assert round(n.book.realized, 6) == -420.0  # the debit paid, lost


def test_the_journal_of_an_expiry_replays_to_the_same_positions_and_pnl(tmp_path: Path) -> None:
    s = BuysTheVertical(symbols=["SPY"])
    n = _node(tmp_path, s)
    n.run(_session(605.0))
    n.journal.close()
    settled = [r for r in read_journal(tmp_path / "bt.twj").records if r.kind == "settled"]
    assert {r.cid for r in settled} == {C600, C610}
    assert {(r.data or {}).get("kind") for r in settled} == {"OPEXC", "OPEXP"}
    replayed = replay(read_journal(tmp_path / "bt.twj").records).book
    for sym, pos in n.book.positions.items():
        again = replayed.get(sym)
        assert (again.qty, again.avg_price, again.realized) == (
            pos.qty,
            pos.avg_price,
            pos.realized,
        )


def test_the_options_part_keeps_every_contract_of_a_selected_underlying() -> None:
    picked = OptionsOf(frozenset({"SPY", "QQQ260116C00500000"}))
    assert C600 in picked
    assert "QQQ260116C00500000" in picked
    assert "QQQ260116C00510000" not in picked
    assert "IWM260116C00200000" not in picked
    assert "SPY" in picked
