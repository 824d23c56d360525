"""The backtest host: the same strategies, risk, ledger and journal as live, on simulated time.

A strategy cannot tell it is being backtested: it gets the same typed events, its orders go
through the same :class:`~tradewire.engine.risk.RiskEngine` checks, the same request builder
(so an order the venue would refuse is refused here too) and the same
:class:`~tradewire.engine.ledger.Ledger`, which journals every event exactly as ``tradewire
run`` does. What differs is only the host: no sockets, and a clock that jumps from event to
event. Everything that happens later than "now" (an order reaching the broker, its reports
coming back, a strategy's timer) waits in one heap ordered by (time, sequence), so equal
times resolve in the order they were scheduled and a rerun is identical.
"""

from __future__ import annotations

import heapq
import logging
import random
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import msgspec

from tradewire.backtest.broker import BARS, OCC_MIN_LEN, BacktestBroker, Hears, replacement_fact
from tradewire.backtest.latency import LatencyModel
from tradewire.backtest.options import DataChains, settle_due
from tradewire.engine import orders as o
from tradewire.engine.account import Account
from tradewire.engine.config import RiskConfig
from tradewire.engine.core import EngineCore
from tradewire.engine.ids import ClientOrderIds
from tradewire.engine.journal.store import Journal
from tradewire.engine.ledger import Ledger
from tradewire.engine.ports import CoreCounters
from tradewire.engine.positions import PositionBook
from tradewire.engine.risk import RiskEngine
from tradewire.engine.session import crypto_pnl
from tradewire.engine.strategy import Strategy
from tradewire.engine.translate import OrderFact, event_from_trade_update
from tradewire.sim.broker.orders import Execution, OrderError
from tradewire.venues.alpaca.order_builder import build_any
from tradewire.venues.alpaca.requests import format_price, format_qty
from tradewire.venues.polygon.crypto import CryptoQuote, CryptoTrade
from tradewire.venues.polygon.messages import Quote, Trade

log = logging.getLogger("tradewire.backtest")
_INF = float("inf")


class _Scheduled:
    """One entry of the event heap that can still be called off (a strategy's timer)."""

    __slots__ = ("args", "cancelled", "fn")

    def __init__(self, fn: Callable[..., None], args: tuple[Any, ...]) -> None:
        self.fn = fn
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def run(self) -> None:
        if not self.cancelled:
            self.fn(*self.args)


class BacktestNode:
    """The backtest host: the engine core on simulated time; :meth:`run` drives it.

    It is the core's clock (the event heap), its venue port (the latency model in front of
    a :class:`BacktestBroker`) and, with zero feed latency, the venue that sees each market
    event before the strategies do.
    """

    def __init__(
        self,
        strategies: list[Strategy],
        *,
        journal: Journal,
        broker: BacktestBroker,
        latency: LatencyModel,
        risk_config: RiskConfig | None = None,
        seed: int = 0,
        starting_cash: float = 100_000.0,
        sample_s: float = 1.0,
    ) -> None:
        self.strategies = strategies
        self.now = 0
        journal.clock = self.time_ns
        self.journal = journal
        self.broker = broker
        self.latency = latency
        self._rng = random.Random(seed)
        self.oms = o.OrderManager()
        self.book = PositionBook()
        self.risk = RiskEngine(
            risk_config or RiskConfig(), crypto_pnl=lambda: crypto_pnl(self.book.positions)
        )
        self.ledger = Ledger(self.oms, self.book, journal)
        self.stats = CoreCounters()
        self.core = EngineCore(
            strategies,
            clock=self,
            port=self,
            ids=ClientOrderIds(prefix=f"bt-{seed}-"),
            ledger=self.ledger,
            risk=self.risk,
            counters=self.stats,
            account=Account(float(starting_cash), float(starting_cash)),
            trade_reference=self.risk.config.reference_price == "quote_or_last_trade",
        )
        self.core.observer = self._observe
        # Option chains from the contracts the data holds (backtest/options.py).
        self.core.chains = self.chains = DataChains(self.core.market)
        # MarketVenue: the symbols whose prints the broker hears: those with working orders,
        # and while a strategy's symbol has had no quote, every symbol not quoted yet.
        self._live = broker.book.live_by_symbol
        self.live: Mapping[str, object] = self._live
        self._hears = Hears(broker)
        self._unquoted: set[str] = set()
        self._broker_ids: dict[str, str] = {}
        self._heap: list[tuple[int, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = 0
        self.events = self.batches = 0
        self.fills: list[tuple[int, str, str, str, float, float]] = []
        # (time, realized, unrealized, {symbol: position}) every sample_s of simulated time
        self.equity: list[tuple[int, float, float, dict[str, float]]] = []
        self._sample_ns = max(int(sample_s * 1e9), 1)
        self._next_sample = 0
        self.first_ns = self.last_ns = 0
        self._zero = latency.zero

    # what the run reports (the core counts them)
    @property
    def orders(self) -> int:
        return self.stats.orders_sent

    @property
    def denied(self) -> int:
        return self.stats.orders_denied

    @property
    def canceled(self) -> int:
        return self.stats.orders_canceled

    @property
    def rejected(self) -> int:
        return self.stats.orders_rejected

    @property
    def strategy_errors(self) -> int:
        return sum(self.stats.strategy_errors.values())

    @property
    def mids(self) -> dict[str, float]:
        return self.core.mids

    # -- the loop ------------------------------------------------------------------------

    def run(self, batches: Iterable[tuple[int, list[Any]]]) -> None:
        started = False
        feed_latency = self.latency.feed
        rng = self._rng
        heap = self._heap
        core = self.core
        for ts, events in batches:
            if not started:
                started = True
                self.now = self.first_ns = ts
                self._next_sample = ts + self._sample_ns
                core.start()
                self._unquoted = set(core.market.symbols)
            if ts >= self.broker.next_expiry_ns:  # an option expiry's close passed
                settle_due(self.broker, self.ledger, self.core.account, ts, self._advance)
            if heap and heap[0][0] <= ts:
                self._run_until(ts)
            if ts >= self._next_sample:
                self._sample(ts)
            self.now = ts
            self.batches += 1
            self.events += len(events)
            if self._unquoted:
                self._stand_in()
            if self._zero:
                if self.live is not self._live:
                    self._bars_first(events)
                core.on_market(events, self)
            else:
                market = core.on_market if self.live is self._live else self._bars_then_market
                self._to_broker(events)
                self._schedule(ts + feed_latency.sample(rng), market, events)
        self.last_ns = self.now
        self._run_until(self.now)
        # The data has ended: reports already on their way still arrive, timers do not fire.
        core.timers.cancel_all()
        self._run_until(_INF)
        core.stop("the data ended")
        self._sample(self.now)

    def _advance(self, at: int) -> None:
        self._run_until(at)
        self.now = max(self.now, at)

    def _sample(self, ts: int) -> None:
        book = self.book
        for sym, mid in self.core.mids.items():
            book.mark(sym, mid)
        positions = {sym: p.qty for sym, p in sorted(book.positions.items()) if p.qty}
        self.equity.append((ts, book.realized, book.unrealized, positions))
        step = self._sample_ns
        self._next_sample = ts - (ts - self.first_ns) % step + step

    def _run_until(self, until: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= until:
            at, _, fn, args = heapq.heappop(heap)
            self.now = max(self.now, at)
            fn(*args)

    def _schedule(self, at: int, fn: Callable[..., None], *args: Any) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, fn, args))

    # -- the venue sees the market first (MarketVenue) -------------------------------------

    def on_quote(self, quote: Quote | CryptoQuote) -> None:
        sym = quote.symbol
        if len(sym) >= OCC_MIN_LEN and sym not in self.chains.contracts:
            self.chains.saw(sym)  # an option contract the data holds: into the chains
        if self._live.get(sym):
            self._report(self.broker.quote(quote))
        else:
            self.broker.last_quotes[sym] = quote

    def on_trade(self, trade: Trade | CryptoTrade) -> None:
        self._report(self.broker.trade(trade))

    def _to_broker(self, events: list[Any]) -> None:
        # The broker sees the market first, as the simulator's feed updates its book before
        # it writes the frame.
        live = self.live
        for ev in events:
            etype = type(ev)
            if etype is Quote or etype is CryptoQuote:
                self.on_quote(ev)
            elif (etype is Trade or etype is CryptoTrade) and live.get(ev.symbol):
                self.on_trade(ev)
            elif etype in BARS and live is not self._live:
                self._report(self.broker.bar(ev))

    # -- data without quotes: prints and bars stand in as the touch (BacktestBroker) -------

    def _stand_in(self) -> None:
        # Once every strategy's symbol has quoted, the hot loop reads the working orders alone.
        quoted = self.broker.quoted
        self._unquoted = {sym for sym in self._unquoted if not quoted(sym)}
        self.live = self._hears if self._unquoted else self._live

    def _bars_first(self, events: list[Any]) -> None:
        # With zero latency the engine routes quotes and prints to the venue as it goes, not
        # bars: the broker takes a frame's bars before it, and risk then their closes.
        self._report(self.broker.bars_first(events))
        self._bar_references(events)

    def _bars_then_market(self, events: list[Any]) -> None:
        self._bar_references(events)
        self.core.on_market(events)

    def _bar_references(self, events: list[Any]) -> None:
        # A bar's close is the last trade risk prices an order at (reference_price:
        # quote_or_last_trade) while it is its symbol's touch at the broker.
        routed, refs = self.core.market.bar_routes, self.core.last_trades
        for sym, close in self.broker.touching_closes(events):
            if sym in routed:
                refs[sym] = close

    # -- the clock (engine.ports.Clock) ------------------------------------------------------

    def time_ns(self) -> int:
        return self.now

    def monotonic(self) -> float:
        return self.now / 1e9

    def monotonic_ns(self) -> int:
        return self.now

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> _Scheduled:
        entry = _Scheduled(callback, ())
        self._schedule(self.now + int(delay_s * 1e9), entry.run)
        return entry

    # -- the venue port (engine.ports.VenuePort): orders through the latency model ----------

    def build(self, **kw: Any) -> object:
        return build_any(**kw)

    def send(self, client_order_id: str, request: object, started_ns: int) -> None:
        # "sent" after the strategy's call returns, as live (the client reports the write
        # later): a strategy never hears of an order inside its own buy().
        self._schedule(self.now, self._apply, client_order_id, o.Sent())
        body = msgspec.to_builtins(request)
        at = self.now + self.latency.order.sample(self._rng)
        self._schedule(at, self._arrive, client_order_id, body)

    def _arrive(self, cid: str, body: dict[str, object]) -> None:
        back = self.now + self.latency.report.sample(self._rng)
        try:
            order, execs = self.broker.submit(body)
        except OrderError as exc:
            self._schedule(back, self._apply, cid, o.Rejected(exc.message))
            return
        self._broker_ids[cid] = order.id
        self._schedule(back, self._apply, cid, o.Accepted(order.id))
        self._report(execs, at=back)

    def cancel(self, client_order_id: str, broker_id: str) -> None:
        at = self.now + self.latency.order.sample(self._rng)
        self._schedule(at, self._cancel_at_broker, broker_id)

    def _cancel_at_broker(self, broker_id: str) -> None:
        try:
            execs = self.broker.cancel(broker_id)
        except OrderError:
            return  # filled first: the fill report tells the engine
        self._report(execs)

    def replace(
        self,
        client_order_id: str,
        broker_id: str,
        *,
        new_client_order_id: str,
        qty: float | None,
        limit_price: float | None,
        stop_price: float | None,
    ) -> None:
        # The body the live client PATCHes (AlpacaClient.replace_order): the same formatting.
        body: dict[str, object] = {"client_order_id": new_client_order_id}
        if qty is not None:
            body["qty"] = format_qty(qty)
        for key, price in (("limit_price", limit_price), ("stop_price", stop_price)):
            if price is not None:
                body[key] = format_price(price, key)
        at = self.now + self.latency.order.sample(self._rng)
        self._schedule(at, self._replace_at_broker, client_order_id, broker_id, body)

    def _replace_at_broker(self, cid: str, broker_id: str, body: dict[str, object]) -> None:
        back = self.now + self.latency.report.sample(self._rng)
        try:
            new, execs = self.broker.replace(broker_id, body)
        except OrderError as exc:
            self._schedule(back, self._apply, cid, o.ReplaceRejected(exc.message))
            return
        self._schedule(back, self._adopt, replacement_fact(new, broker_id))
        self._report(execs, at=back)

    def _adopt(self, fact: OrderFact) -> None:
        self.ledger.adopt_external(fact, ref_price=self.core.mids.get(fact.symbol, 0.0))

    # -- reports: broker -> engine ---------------------------------------------------------

    def _report(self, execs: list[Execution], *, at: int | None = None) -> None:
        if not execs:
            return
        when = at if at is not None else self.now + self.latency.report.sample(self._rng)
        for ex in execs:
            event = event_from_trade_update(
                ex.event,
                execution_id=ex.execution_id,
                qty=float(ex.qty) if ex.qty is not None else None,
                price=float(ex.price) if ex.price is not None else None,
                broker_id=ex.order.id,
                cumulative_filled=float(ex.filled_qty),
                cumulative_avg=(
                    float(ex.filled_avg_price) if ex.filled_avg_price is not None else None
                ),
                replaced_by=ex.order.replaced_by,
                legs=self.broker.leg_fills(ex.order),  # an mleg parent's legs, cumulative
            )
            if event is not None:
                self._schedule(when, self._apply, ex.order.client_order_id, event)

    def _apply(self, cid: str, event: o.OrderEvent) -> None:
        self.ledger.apply(cid, event)

    def _observe(self, event: o.OrderEvent, applied: o.Applied) -> None:
        if applied.fill_qty:
            order = applied.order
            self.fills.append(
                (
                    self.now,
                    order.client_order_id,
                    order.symbol,
                    order.side,
                    applied.fill_qty,
                    applied.fill_price,
                )
            )
