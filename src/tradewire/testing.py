"""Unit-test a strategy without a simulator: the engine core on a manual clock.

The same :class:`~tradewire.engine.core.EngineCore` that runs a strategy live, in a worker
and in a backtest runs it here, with a clock the test moves (:class:`ManualClock`) and a
paper venue that fills marketable orders at the last quote (:class:`PaperVenue`). So what a
strategy sees here (handles, updates, positions, cash, timers, risk denials, the error
budget) is what it sees in every host, in microseconds and with no socket::

    from tradewire.testing import run_on_events
    from tradewire import Quote

    ctx = run_on_events(MyStrategy(symbols=["AAPL"]), [Quote("AAPL", 99.9, 100.1, 1, 1)])
    assert ctx.orders[0].symbol == "AAPL"
    assert ctx.position("AAPL").qty == 10

The paper venue is deliberately simple: market orders fill at the touch (a buy at the ask, a
sell at the bid), limit orders when the touch reaches them, stop orders once the touch
crosses their stop; the whole quantity at once, no fees. A bracket's exit legs are sent as
asked but not worked. Backtests with queues and latency are ``tradewire backtest``.
"""

from __future__ import annotations

import contextlib
import heapq
import os
from collections.abc import Callable, Iterable, Sequence
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import msgspec

from tradewire.engine import orders as o
from tradewire.engine.account import Account
from tradewire.engine.config import RiskConfig
from tradewire.engine.core import EngineCore
from tradewire.engine.ids import ClientOrderIds
from tradewire.engine.journal.store import Journal
from tradewire.engine.ledger import Ledger
from tradewire.engine.multileg import INTENT_SIDES, LegFill
from tradewire.engine.ports import CoreCounters
from tradewire.engine.positions import PositionBook
from tradewire.engine.risk import RiskEngine
from tradewire.engine.session import crypto_pnl
from tradewire.engine.strategy import OrderUpdate, PositionView, Strategy
from tradewire.engine.translate import OrderFact
from tradewire.venues.alpaca.order_body import MultiLegRequest, OrderRequest
from tradewire.venues.alpaca.order_builder import DEFAULT_INSTRUMENTS, build_any
from tradewire.venues.polygon.crypto import CryptoQuote
from tradewire.venues.polygon.messages import Quote

__all__ = ["FakeContext", "ManualClock", "PaperVenue", "run_on_events"]

START_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z


class _Call:
    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock that moves only when the test says (``advance``, ``set``), running the
    timers that fall due on the way, in order (engine.ports.Clock)."""

    def __init__(self, start_ns: int = START_NS) -> None:
        self.now = start_ns
        self._heap: list[tuple[int, int, _Call]] = []
        self._seq = 0

    def time_ns(self) -> int:
        return self.now

    def monotonic(self) -> float:
        return self.now / 1e9

    def monotonic_ns(self) -> int:
        return self.now

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> _Call:
        call = _Call(callback)
        self._seq += 1
        heapq.heappush(self._heap, (self.now + int(delay_s * 1e9), self._seq, call))
        return call

    def advance(self, seconds: float) -> None:
        self.set(self.now + int(seconds * 1e9))

    def set(self, until_ns: int) -> None:
        """Move to ``until_ns`` (never back), running every timer due by then."""
        heap = self._heap
        while heap and heap[0][0] <= until_ns:
            at, _, call = heapq.heappop(heap)
            self.now = max(self.now, at)
            if not call.cancelled:
                call.callback()
        self.now = max(self.now, until_ns)


class PaperVenue:
    """Fills marketable orders at the last quote (engine.ports.VenuePort and MarketVenue)."""

    def __init__(self, ledger: Ledger, quotes: dict[str, Quote | CryptoQuote]) -> None:
        self._ledger = ledger
        self._quotes = quotes
        self.requests: list[OrderRequest] = []
        self.cancels: list[str] = []
        self.replaces: list[tuple[str, str]] = []
        self._resting: dict[str, dict[str, OrderRequest]] = {}
        self.multileg: list[MultiLegRequest] = []
        self._resting_mleg: dict[str, MultiLegRequest] = {}
        self._ids = 0
        self._execs = 0

    build = staticmethod(build_any)

    @property
    def live(self) -> dict[str, dict[str, OrderRequest]]:
        return self._resting

    def send(self, client_order_id: str, request: object, started_ns: int) -> None:
        if isinstance(request, MultiLegRequest):
            self._send_mleg(client_order_id, request)
            return
        assert isinstance(request, OrderRequest)
        self.requests.append(request)
        self._ids += 1
        broker_id = f"paper-{self._ids}"
        ledger = self._ledger
        ledger.apply(client_order_id, o.Sent())
        ledger.apply(client_order_id, o.Accepted(broker_id))
        ledger.apply(client_order_id, o.New(broker_id))
        if not self._try(client_order_id, request):
            self._resting.setdefault(request.symbol, {})[client_order_id] = request

    def _send_mleg(self, cid: str, request: MultiLegRequest) -> None:
        # A multi-leg order fills whole, all legs at their touch, when the net is at or
        # better than its limit (a market order: at once); else it rests until a quote does.
        self.multileg.append(request)
        self._ids += 1
        broker_id = f"paper-{self._ids}"
        for event in (o.Sent(), o.Accepted(broker_id), o.New(broker_id)):
            self._ledger.apply(cid, event)
        if not self._try_mleg(cid, request):
            self._resting_mleg[cid] = request

    def _try_mleg(self, cid: str, request: MultiLegRequest) -> bool:
        prices: list[float] = []
        net = 0.0
        for leg in request.legs:
            quote = self._quotes.get(leg.symbol)
            if quote is None:
                return False
            buy = (leg.side or INTENT_SIDES.get(leg.position_intent or "", "")) == "buy"
            touch = quote.ask_price if buy else quote.bid_price
            if not touch > 0:
                return False
            prices.append(touch)
            net += int(leg.ratio_qty) * (touch if buy else -touch)
        if request.limit_price is not None and net > float(request.limit_price) + 1e-9:
            return False
        units = float(request.qty)
        fills = tuple(
            LegFill(leg.symbol, units * int(leg.ratio_qty), price)
            for leg, price in zip(request.legs, prices, strict=True)
        )
        self._execs += 1
        net = round(net, 4)
        self._ledger.apply(cid, o.Fill(f"paper-exec-{self._execs}", units, net, units, net, fills))
        return True

    def cancel(self, client_order_id: str, broker_id: str) -> None:
        self.cancels.append(client_order_id)
        if self._resting_mleg.pop(client_order_id, None) is not None:
            self._ledger.apply(client_order_id, o.Canceled())
            return
        for resting in self._resting.values():
            if resting.pop(client_order_id, None) is not None:
                self._ledger.apply(client_order_id, o.Canceled())
                return

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
        self.replaces.append((client_order_id, new_client_order_id))
        old = next((r for r in self._resting.values() if client_order_id in r), None)
        if old is None:  # filled or ended first: the venue refuses, as Alpaca does (422)
            self._ledger.apply(client_order_id, o.ReplaceRejected("order is not open"))
            return
        request = old.pop(client_order_id)
        self._ids += 1
        new_broker_id = f"paper-{self._ids}"
        replacement = msgspec.structs.replace(
            request,
            client_order_id=new_client_order_id,
            qty=request.qty if qty is None else repr(float(qty)),
            limit_price=request.limit_price if limit_price is None else repr(float(limit_price)),
            stop_price=request.stop_price if stop_price is None else repr(float(stop_price)),
        )
        fact = OrderFact(
            new_client_order_id,
            "new",
            new_broker_id,
            symbol=request.symbol,
            side=request.side,
            qty=float(replacement.qty or 0),
            notional=float(replacement.notional or 0),  # a notional order stays one
            order_type=request.type,
            limit_price=None if replacement.limit_price is None else float(replacement.limit_price),
            replaces=broker_id,
        )
        self._ledger.adopt_external(
            fact, ref_price=fact.limit_price or 0.0
        )  # the original ends replaced
        self._ledger.apply(new_client_order_id, o.New(new_broker_id))
        if not self._try(new_client_order_id, replacement):
            self._resting.setdefault(request.symbol, {})[new_client_order_id] = replacement

    def on_quote(self, quote: Quote | CryptoQuote) -> None:
        self._quotes[quote.symbol] = quote
        for cid, mleg in list(self._resting_mleg.items()):
            if self._try_mleg(cid, mleg):
                del self._resting_mleg[cid]
        resting = self._resting.get(quote.symbol)
        for cid, request in list((resting or {}).items()):
            if self._try(cid, request):
                del resting[cid]  # type: ignore[union-attr]

    def on_trade(self, trade: Any) -> None:
        return None

    def _try(self, cid: str, request: OrderRequest) -> bool:
        quote = self._quotes.get(request.symbol)
        if quote is None:
            return False
        buy = request.side == "buy"
        touch = quote.ask_price if buy else quote.bid_price
        if not touch > 0:
            return False
        if request.stop_price is not None:
            stop = float(request.stop_price)
            if (touch < stop) if buy else (touch > stop):
                return False  # not triggered yet
        if request.limit_price is not None:
            limit = float(request.limit_price)
            if (touch > limit) if buy else (touch < limit):
                return False
        if request.qty is None and request.notional is not None:
            qty = _notional_qty(request.symbol, float(request.notional), touch)
            if qty <= 0.0:
                return False  # less than one increment: it rests, as Alpaca's would not fill
        else:
            qty = float(request.qty or 0)
        self._execs += 1
        self._ledger.apply(cid, o.Fill(f"paper-exec-{self._execs}", qty, touch, qty, touch))
        return True


def _notional_qty(symbol: str, notional: float, price: float) -> float:
    """What ``notional`` dollars buy at ``price``: down to the asset's quantity increment (a
    pair's, from :data:`~tradewire.venues.alpaca.order_builder.DEFAULT_INSTRUMENTS`), or to
    Alpaca's 9 decimals for a stock."""
    step = Decimal("0.000000001")
    if "/" in symbol:
        with contextlib.suppress(KeyError, ValueError):
            step = DEFAULT_INSTRUMENTS.get(symbol, "crypto").qty_increment
    units = (Decimal(repr(notional)) / Decimal(repr(price))).quantize(step, rounding=ROUND_DOWN)
    return float(units)


class FakeContext:
    """A strategy on the engine core with a manual clock and a paper venue.

    ``orders`` are the requests the strategy sent, ``updates`` every update it was told
    (in order), ``denials`` the handles risk refused; the strategy's own reads (position,
    cash, equity, mid, open orders, timers) are the core's, as in every host.
    """

    def __init__(
        self,
        strategy: Strategy,
        *,
        cash: float = 100_000.0,
        risk: RiskConfig | None = None,
        max_errors: int = 20,
        clock: ManualClock | None = None,
    ) -> None:
        self.strategy = strategy
        self.clock = clock or ManualClock()
        self.journal = Journal(Path(os.devnull), fsync="never", clock=self.clock.time_ns)
        book = PositionBook()
        self.ledger = Ledger(o.OrderManager(), book, self.journal)
        self.counters = CoreCounters()
        self.core = EngineCore(
            [strategy],
            clock=self.clock,
            port=_Late(self),
            ids=ClientOrderIds(prefix="test-"),
            ledger=self.ledger,
            risk=RiskEngine(risk or RiskConfig(), crypto_pnl=lambda: crypto_pnl(book.positions)),
            counters=self.counters,
            account=Account(cash, cash),
            max_errors=max_errors,
        )
        self.venue = PaperVenue(self.ledger, {})
        self.updates: list[OrderUpdate] = []
        self._seen = strategy.on_order_update
        strategy.on_order_update = self._record  # type: ignore[method-assign]

    def _record(self, update: OrderUpdate) -> None:
        self.updates.append(update)
        self._seen(update)

    @property
    def orders(self) -> list[OrderRequest]:
        return self.venue.requests

    def start(self) -> FakeContext:
        self.core.start()
        return self

    def feed(self, events: Sequence[Any]) -> None:
        """Deliver market events (the venue sees them first, as a market would)."""
        for ev in events:
            ts = getattr(ev, "timestamp", 0)
            if ts:
                self.clock.set(int(ts) * 1_000_000)  # Massive's stocks timestamps are ms
            self.core.on_market([ev], self.venue)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def stop(self) -> None:
        self.core.stop("the test ended")
        self.journal.close()

    def position(self, symbol: str) -> PositionView:
        return self.core.position(symbol)


class _Late:
    """The venue port, resolved when used (the venue needs the ledger the core is built on)."""

    def __init__(self, ctx: FakeContext) -> None:
        self._ctx = ctx

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx.venue, name)


def run_on_events(
    strategy: Strategy,
    events: Iterable[Any],
    *,
    cash: float = 100_000.0,
    risk: RiskConfig | None = None,
    stop: bool = True,
) -> FakeContext:
    """Start ``strategy``, feed it ``events`` one by one and stop it (unless ``stop`` is
    false); returns the context to assert on."""
    ctx = FakeContext(strategy, cash=cash, risk=risk).start()
    ctx.feed(list(events))
    if stop:
        ctx.stop()
    return ctx
