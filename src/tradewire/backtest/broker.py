"""The backtest's broker: the simulator's paper-broker book, in process, on simulated time.

The same :class:`~tradewire.sim.broker.matching.SimBook` the ``tradewire sim`` broker
serves over REST validates, books and matches the orders here, so a strategy meets the same
rules (ticks, buying power, time in force, fills at the touch) in a backtest as against the
simulator. Two fill models:

- ``touch``: the simulator's own: a marketable order fills at the touch; a resting limit
  fills when the opposite side reaches its price.
- ``queue``: also fills resting limits from the trade prints, behind the queue that was
  displayed at their price when they joined it (hftbacktest's risk-averse queue model): a
  print at the order's price first consumes the shares ahead; a print through its price
  fills it; a displayed size that shrinks below the shares ahead shortens the queue, a
  level that grows does not put anyone ahead again.

Broker order and execution ids come from a seeded generator, so the journal, which records
them, is byte-identical from run to run.
"""

from __future__ import annotations

import random
import uuid
from decimal import Decimal

from tradewire.sim.broker.crypto import crypto_assets, is_crypto
from tradewire.sim.broker.matching import SimBook
from tradewire.sim.broker.orders import TERMINAL, Clock, Execution, SimOrder, wall_clock
from tradewire.sim.market import NBBO
from tradewire.venues.polygon.crypto import CryptoQuote, CryptoTrade
from tradewire.venues.polygon.messages import Quote, Trade

AnyQuote = Quote | CryptoQuote
AnyTrade = Trade | CryptoTrade

FILL_MODELS = ("touch", "queue")
ROUND_LOT = 100  # quote sizes are round lots on the wire, as sim/feed/server.py reads them
_INF = float("inf")


class BacktestBroker:
    def __init__(
        self, *, fill_model: str, seed: int, starting_cash: Decimal, clock: Clock = wall_clock
    ) -> None:
        """``clock``: the time the book stamps on orders, events and fills; a backtest passes
        its simulated clock (the wall clock otherwise)."""
        if fill_model not in FILL_MODELS:
            raise ValueError(f"fill model {fill_model!r}: choose {', '.join(FILL_MODELS)}")
        rng = random.Random(seed)

        def new_id() -> str:
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))

        self.book = SimBook(starting_cash=starting_cash, seed=seed, new_id=new_id, clock=clock)
        self.queue_model = fill_model == "queue"
        # The latest quote of a symbol with nothing working at the broker: turned into the
        # book's NBBO only when an order arrives (most quotes of a backtest touch no order).
        self.last_quotes: dict[str, AnyQuote] = {}
        # order id -> shares displayed ahead of it at its price (inf: not at the best yet)
        self._ahead: dict[str, float] = {}

    def quote(self, q: AnyQuote) -> list[Execution]:
        """A stock quote, or a crypto pair's (keyed ``BTC/USD``, sizes in coins)."""
        self.last_quotes.pop(q.symbol, None)
        if type(q) is CryptoQuote:
            self.list_pair(q.symbol)
        nbbo = _nbbo(q)
        if self.queue_model and self._ahead:
            self._requeue(nbbo)
        return self.book.on_quote(nbbo)

    def list_pair(self, symbol: str) -> None:
        """List a crypto pair at the book (Alpaca's crypto rules and increments) the first
        time the data or an order names it: a backtest lists what its data holds."""
        if symbol not in self.book.crypto:
            self.book.crypto.update(crypto_assets([symbol]))

    def trade(self, t: AnyTrade) -> list[Execution]:
        if not self.queue_model or not self._ahead:
            return []
        execs: list[Execution] = []
        price, size = Decimal(str(t.price)), float(t.size)
        for order in self._resting(t.symbol):
            limit = order.limit_price
            assert limit is not None
            buy = order.side == "buy"
            through = price < limit if buy else price > limit
            if not through and price != limit:
                continue
            remaining = float(order.remaining)
            if through:
                qty = remaining
            else:
                ahead = self._ahead[order.id] - size
                self._ahead[order.id] = max(ahead, 0.0)
                if ahead >= 0:
                    continue
                qty = min(-ahead, remaining)
            execs.extend(self.book._fill(order, Decimal(str(qty)), limit))
        return execs

    def submit(self, body: dict[str, object]) -> tuple[SimOrder, list[Execution]]:
        """Book and route one order (raises ``OrderError`` as the REST server would answer)."""
        symbol = str(body.get("symbol", ""))
        if is_crypto(symbol):
            self.list_pair(symbol)
        pending = self.last_quotes.pop(symbol, None)
        if pending is not None:
            self.book.quotes[pending.symbol] = _nbbo(pending)
        order = self.book.submit(body)
        execs = self.book.activate(order)
        if self.queue_model and order.is_open and order.type == "limit":
            self._ahead[order.id] = self._joined(order)
        return order, execs

    def cancel(self, order_id: str) -> list[Execution]:
        self._ahead.pop(order_id, None)
        return self.book.cancel(order_id)

    def replace(self, order_id: str, body: dict[str, object]) -> tuple[SimOrder, list[Execution]]:
        """Replace a working order (Alpaca's PATCH); the replacement joins the queue anew."""
        self._ahead.pop(order_id, None)
        order, execs = self.book.replace(order_id, body)
        if self.queue_model and order.is_open and order.type == "limit":
            self._ahead[order.id] = self._joined(order)
        return order, execs

    # -- queue positions -------------------------------------------------------------------

    def _resting(self, symbol: str) -> list[SimOrder]:
        resting = []
        for oid in list(self._ahead):
            order = self.book.orders[oid]
            if order.status in TERMINAL:
                del self._ahead[oid]
            elif order.symbol == symbol:
                resting.append(order)
        return resting

    def _joined(self, order: SimOrder) -> float:
        q = self.book.quotes.get(order.symbol)
        if q is None:
            return _INF
        limit = float(order.limit_price or 0)
        best, size = (q.bid_price, q.bid_size) if order.side == "buy" else (q.ask_price, q.ask_size)
        better = limit > best if order.side == "buy" else limit < best
        if better:
            return 0.0  # it is the new best: first in the queue
        return float(size) if limit == best else _INF

    def _requeue(self, nbbo: NBBO) -> None:
        for order in self._resting(nbbo.symbol):
            limit = float(order.limit_price or 0)
            buy = order.side == "buy"
            best, size = (nbbo.bid_price, nbbo.bid_size) if buy else (nbbo.ask_price, nbbo.ask_size)
            ahead = self._ahead[order.id]
            if (limit > best) if buy else (limit < best):
                self._ahead[order.id] = 0.0  # everyone else at our price left
            elif limit == best:
                # Joined when the level became best (behind all of it); a level that
                # shrinks takes its cancels from ahead of us first (risk-averse).
                self._ahead[order.id] = float(size) if ahead == _INF else min(ahead, float(size))


def _nbbo(q: AnyQuote) -> NBBO:
    if type(q) is CryptoQuote:  # coins, not round lots; the book names the pair BTC/USD
        ts = q.timestamp
        return NBBO(q.symbol, q.bid_price, q.bid_size, q.ask_price, q.ask_size, ts)
    assert type(q) is Quote
    return NBBO(
        q.symbol,
        q.bid_price,
        int(q.bid_size) * ROUND_LOT,
        q.ask_price,
        int(q.ask_size) * ROUND_LOT,
        q.timestamp,
    )
