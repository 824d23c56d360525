"""Options end to end against the simulator (issue 24): a multi-leg order placed outside
tradewire (by alpaca-py) is adopted with its legs, its fills reach the legs' positions, and
the engine's positions equal the broker's; a strategy's own vertical (one mleg order) books
both legs, survives a restart, and reconciliation corrects nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass, OrderSide, PositionIntent, TimeInForce
from alpaca.trading.requests import LimitOrderRequest, OptionLegRequest

from tradewire import Leg, Strategy
from tradewire.engine.config import JournalConfig, RiskConfig
from tradewire.engine.options import occ_symbol
from tradewire.live.node import TradingNode, Venues
from tradewire.sim.market import NBBO
from tradewire.sim.option_chain import listing_fridays
from tradewire.sim.venue import VenueConfig, VenueSimulator
from tradewire.venues.alpaca.reports import broker_positions

pytestmark = pytest.mark.timeout(60)
AUTH = {"APCA-API-KEY-ID": "test-key", "APCA-API-SECRET-KEY": "test-secret"}

LISTED_ON = datetime.now(UTC).date()
EXPIRY = listing_fridays(LISTED_ON + timedelta(days=7), 1)[0]
LOW = occ_symbol("SPY", EXPIRY, "call", 500)
HIGH = occ_symbol("SPY", EXPIRY, "call", 510)


class Quiet(Strategy):
    """Trades nothing unless told: ``vertical()`` sends one call vertical."""

    def on_start(self) -> None:
        self.handle: Any = None

    def vertical(self) -> None:
        legs = [Leg(LOW, 1, "buy", "buy_to_open"), Leg(HIGH, 1, "sell", "sell_to_open")]
        self.handle = self.submit_multileg(legs, 2, limit_price=3.40)


@pytest.fixture
async def venue() -> AsyncIterator[VenueSimulator]:
    async with VenueSimulator(VenueConfig(symbols=("SPY",))) as v:
        v.option_chains.list_underlying("SPY", 500.0, LISTED_ON)
        for symbol, bid, ask in (
            ("SPY", 499.99, 500.01),
            (LOW, 4.20, 4.30),
            (HIGH, 1.00, 1.10),
        ):
            v.market.publish_quote(NBBO(symbol, bid, 10, ask, 10, 1))
        yield v


def node_for(venue: VenueSimulator, tmp_path: Path, strategy: Strategy) -> TradingNode:
    venues = Venues.simulator(venue.feed_url, venue.broker_url, venue.broker.stream_url)
    return TradingNode(
        venues,
        [strategy],
        risk_config=RiskConfig(price_band_pct=50, max_order_notional=1_000_000),
        journal_config=JournalConfig(fsync="never"),
        journal_path=tmp_path / "options.twj",
        reconcile_interval_s=0.2,
    )


async def _broker_positions(venue: VenueSimulator) -> dict[str, float]:
    client = TradingClient("test-key", "test-secret", url_override=venue.broker_url)
    positions = await asyncio.to_thread(client.get_all_positions)
    from tradewire.venues.alpaca.messages import Position

    decoded = [
        Position(p.symbol, p.qty, p.avg_entry_price, p.side, asset_class=p.asset_class)  # type: ignore[arg-type]
        for p in positions
    ]
    return {k: q for k, (q, _avg) in broker_positions(decoded).items()}


async def test_an_mleg_order_placed_by_alpaca_py_is_adopted_with_its_legs(
    venue: VenueSimulator, tmp_path: Path, until: Any
) -> None:
    node = node_for(venue, tmp_path, Quiet(symbols=["SPY"]))
    await node.start()
    try:
        client = TradingClient("test-key", "test-secret", url_override=venue.broker_url)
        request = LimitOrderRequest(
            order_class=OrderClass.MLEG,
            qty=3,
            limit_price=3.30,  # 4.30 - 1.00 = 3.30: fills at once
            time_in_force=TimeInForce.DAY,
            legs=[
                OptionLegRequest(
                    symbol=LOW,
                    ratio_qty=1,
                    side=OrderSide.BUY,
                    position_intent=PositionIntent.BUY_TO_OPEN,
                ),
                OptionLegRequest(
                    symbol=HIGH,
                    ratio_qty=1,
                    side=OrderSide.SELL,
                    position_intent=PositionIntent.SELL_TO_OPEN,
                ),
            ],
        )
        placed = await asyncio.to_thread(client.submit_order, request)
        await until(lambda: placed.client_order_id in node.oms.orders)
        order = node.oms.orders[placed.client_order_id]
        assert order.strategy == "external"
        assert [leg.symbol for leg in order.legs] == [LOW, HIGH]
        await until(lambda: node.book.qty(LOW) == 3 and node.book.qty(HIGH) == -3)
        assert node.book.get(LOW).avg_price == pytest.approx(4.30)
        assert node.book.get(HIGH).avg_price == pytest.approx(1.00)
        await node.reconciler.run_once("test")
        assert node.counters.reconcile_corrections.get("position", 0) == 0
        engine = {s: p.qty for s, p in node.book.positions.items() if p.qty}
        assert engine == await _broker_positions(venue)
    finally:
        await node.stop(cancel_open_orders=True)


async def test_a_strategys_vertical_books_both_legs_and_survives_a_restart(
    venue: VenueSimulator, tmp_path: Path, until: Any
) -> None:
    strategy = Quiet(symbols=["SPY", LOW, HIGH])
    node = node_for(venue, tmp_path, strategy)
    await node.start()
    try:
        await until(lambda: venue.feed.subscriber_count(f"Q.O:{HIGH}") == 1)
        venue.feed.publish(
            [
                {"ev": "Q", "sym": f"O:{LOW}", "bp": 4.20, "bs": 10, "ap": 4.30, "as": 10},
                {"ev": "Q", "sym": f"O:{HIGH}", "bp": 1.00, "bs": 10, "ap": 1.10, "as": 10},
            ]
        )
        await until(lambda: node.mids.get(LOW) is not None and node.mids.get(HIGH) is not None)
        strategy.vertical()
        assert strategy.handle.denied is None, strategy.handle.denied
        await until(lambda: strategy.handle.status == "filled")
        assert strategy.handle.filled_avg_price == pytest.approx(3.30)
        assert node.book.qty(LOW) == 2
        assert node.book.qty(HIGH) == -2
        await node.reconciler.run_once("test")
        assert node.counters.reconcile_corrections.get("position", 0) == 0
        # cash: 2 spreads x 3.30 x 100
        assert float(node.core.account.cash) == pytest.approx(100_000 - 660.0, abs=0.01)
    finally:
        await node.stop(cancel_open_orders=True)
    again = node_for(venue, tmp_path, Quiet(symbols=["SPY", LOW, HIGH]))
    await again.start()
    try:
        assert again.book.qty(LOW) == 2
        assert again.book.qty(HIGH) == -2
        assert again.counters.reconcile_corrections.get("position", 0) == 0
        engine = {s: p.qty for s, p in again.book.positions.items() if p.qty}
        assert engine == await _broker_positions(venue)
    finally:
        await again.stop(cancel_open_orders=True)


ITM = occ_symbol("SPY", EXPIRY, "call", 480)
OTM = occ_symbol("SPY", EXPIRY, "call", 520)


class Holder(Strategy):
    """Buys one contract of each of its option symbols on their first quote."""

    def on_start(self) -> None:
        self.bought: dict[str, Any] = {}

    def on_quote(self, quote: Any) -> None:
        if quote.symbol in (ITM, OTM) and quote.symbol not in self.bought:
            self.bought[quote.symbol] = self.buy(quote.symbol, 1)


async def test_an_expiry_settles_through_the_ledger_as_the_broker_posts_it(
    venue: VenueSimulator, tmp_path: Path, until: Any
) -> None:
    # At expiry Alpaca exercises the ITM call into 100 shares at its strike and expires the
    # OTM one worthless, and posts OPEXC / OPEXP activities: the reconciler books them as
    # OptionSettled events (journaled, replayed), not as position corrections.
    strategy = Holder(symbols=["SPY", ITM, OTM])
    node = node_for(venue, tmp_path, strategy)
    await node.start()
    try:
        await until(lambda: venue.feed.subscriber_count(f"Q.O:{OTM}") == 1)
        venue.market.publish_quote(NBBO(ITM, 20.0, 10, 20.2, 10, 1))
        venue.market.publish_quote(NBBO(OTM, 0.10, 10, 0.15, 10, 1))
        venue.feed.publish(
            [
                {"ev": "Q", "sym": f"O:{ITM}", "bp": 20.0, "bs": 10, "ap": 20.2, "as": 10},
                {"ev": "Q", "sym": f"O:{OTM}", "bp": 0.10, "bs": 10, "ap": 0.15, "as": 10},
            ]
        )
        await until(lambda: node.book.qty(ITM) == 1 and node.book.qty(OTM) == 1)
        async with aiohttp.ClientSession() as http:
            url = f"{venue.broker_url}/_sim/options"
            async with http.post(url, json={"expire": EXPIRY.isoformat()}, headers=AUTH) as r:
                assert r.status == 200, await r.text()
        await node.reconciler.run_once("test")
        assert node.ledger.settlements == 2
        assert node.book.qty(ITM) == 0
        assert node.book.qty(OTM) == 0
        assert node.book.qty("SPY") == 100
        assert node.book.get("SPY").avg_price == pytest.approx(480.0)
        assert node.counters.reconcile_corrections.get("position", 0) == 0
        engine = {s: p.qty for s, p in node.book.positions.items() if p.qty}
        assert engine == await _broker_positions(venue)
        # cash: 20.20 + 0.15 premium x 100, then 100 shares at 480
        assert float(node.core.account.cash) == pytest.approx(100_000 - 2035.0 - 48_000.0)
    finally:
        await node.stop(cancel_open_orders=True)
    again = node_for(venue, tmp_path, Holder(symbols=["SPY"]))
    await again.start()  # the journal replays the settlements to the broker's positions
    try:
        assert again.book.qty("SPY") == 100
        assert again.book.qty(ITM) == 0
        assert again.counters.reconcile_corrections.get("position", 0) == 0
    finally:
        await again.stop(cancel_open_orders=True)
