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

Data without quotes (Massive's crypto trades and minute-aggregate flat files, a stocks
``trades_v1`` alone): while a symbol has had no quote in the backtest, its last trade print
stands in as the touch, a zero-spread NBBO at the print's price and size (absent prints, the
last bar's close and volume), so a market order fills at the last print and a resting limit
fills when a print reaches its price. The first quote ends it: from then on quotes rule as
above and prints keep only their role in the queue model (a recording with quotes fills as
it always did).

Options (issue 24): a quote whose symbol is an OCC contract (the stock ``Quote`` type, sizes
in contracts, not round lots) is the contract's NBBO; a contract is listed at the book the
first time the data or an order names it (as a crypto pair is), so single-leg and ``mleg``
orders meet the simulator's option rules; expiries settle as the simulator settles them
(:meth:`BacktestBroker.settle_expiry`, sim/broker/expiry.py), driven by the backtest's clock.

Broker order and execution ids come from a seeded generator, so the journal, which records
them, is byte-identical from run to run.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from tradewire.engine.multileg import LegFill
from tradewire.engine.options import OCC, parse_occ
from tradewire.engine.translate import OrderFact
from tradewire.sim.broker import expiry
from tradewire.sim.broker.crypto import crypto_assets, is_crypto
from tradewire.sim.broker.expiry import OptionActivity
from tradewire.sim.broker.matching import SimBook
from tradewire.sim.broker.orders import TERMINAL, Clock, Execution, SimOrder, wall_clock
from tradewire.sim.market import NBBO
from tradewire.sim.option_chain import OptionChains, expiry_instant
from tradewire.venues.polygon.crypto import (
    CryptoAggregate,
    CryptoMinuteAggregate,
    CryptoQuote,
    CryptoTrade,
)
from tradewire.venues.polygon.messages import Aggregate, MinuteAggregate, Quote, Trade

AnyQuote = Quote | CryptoQuote
AnyTrade = Trade | CryptoTrade
AnyBar = Aggregate | MinuteAggregate | CryptoAggregate | CryptoMinuteAggregate
BARS = frozenset({Aggregate, MinuteAggregate, CryptoAggregate, CryptoMinuteAggregate})
_CRYPTO = frozenset({CryptoTrade, CryptoAggregate, CryptoMinuteAggregate})

FILL_MODELS = ("touch", "queue")
ROUND_LOT = 100  # quote sizes are round lots on the wire, as sim/feed/server.py reads them
_INF = float("inf")
OCC_MIN_LEN = 16  # the shortest OCC symbol: a stock's ticker never pays for the option test


def is_contract(symbol: str) -> bool:
    """Whether ``symbol`` is an OCC option contract in Alpaca's form (``SPY260116C00600000``)."""
    return len(symbol) >= OCC_MIN_LEN and OCC.fullmatch(symbol) is not None


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
        # Symbols whose quotes reached the book; with ``last_quotes``, every symbol quoted.
        self._quoted: set[str] = set()
        # Symbols that printed before any quote (their bars no longer stand in), and the
        # stand-in touch of one with nothing working, turned into its NBBO by an order.
        self._printed: set[str] = set()
        self.last_prints: dict[str, NBBO] = {}
        # order id -> shares displayed ahead of it at its price (inf: not at the best yet)
        self._ahead: dict[str, float] = {}
        # The 4 PM ET close (ns) of the first listed expiry not settled yet (inf: none).
        self.next_expiry_ns: float = _INF
        self._settled: set[date] = set()

    def quote(self, q: AnyQuote) -> list[Execution]:
        """A stock quote, or a crypto pair's (keyed ``BTC/USD``, sizes in coins)."""
        self.last_quotes.pop(q.symbol, None)
        self._quoted.add(q.symbol)
        if type(q) is CryptoQuote:
            self.list_pair(q.symbol)
        elif len(q.symbol) >= OCC_MIN_LEN:
            self.list_contract(q.symbol)
        nbbo = _nbbo(q)
        if self.queue_model and self._ahead:
            self._requeue(nbbo)
        return self.book.on_quote(nbbo)

    def list_pair(self, symbol: str) -> None:
        """List a crypto pair at the book (Alpaca's crypto rules and increments) the first
        time the data or an order names it: a backtest lists what its data holds."""
        if symbol not in self.book.crypto:
            self.book.crypto.update(crypto_assets([symbol]))

    def list_contract(self, symbol: str) -> None:
        """List an option contract at the book (the simulator's option rules, its multiplier)
        the first time the data or an order names it; anything else is left alone."""
        chains = self.book.options
        if chains is not None and symbol in chains.by_symbol:
            return
        if not is_contract(symbol):
            return
        if chains is None:
            chains = self.book.options = OptionChains()
        contract = parse_occ(symbol)
        chains.add(contract)
        if contract.expiry not in self._settled:
            close = int(expiry_instant(contract.expiry).timestamp()) * 1_000_000_000
            self.next_expiry_ns = min(self.next_expiry_ns, close)

    def settle_expiry(self) -> list[OptionActivity]:
        """Settle the first listed expiry not settled yet, as the simulator does once its
        clock passes that day's 4 PM ET close (sim/broker/option_routes.py): every option
        position expiring then, in the money at **the underlying's last mid in the data** (its
        last quote, else its last print standing in) exercised (long) or assigned (short)
        into ``multiplier`` shares per contract at the strike, the rest expired worthless."""
        chains = self.book.options
        if chains is None or self.next_expiry_ns == _INF:
            return []
        day = min(c.expiry for c in chains if c.expiry not in self._settled)
        for symbol in {c.underlying for c in chains.expiring(day)}:
            self._price(symbol)
        done = expiry.expire(self.book, day)
        self._settled.update(c.expiry for c in chains if c.expiry <= day)
        pending = [c.expiry for c in chains if c.expiry not in self._settled]
        self.next_expiry_ns = (
            int(expiry_instant(min(pending)).timestamp()) * 1_000_000_000 if pending else _INF
        )
        return done

    def leg_fills(self, order: SimOrder) -> tuple[LegFill, ...]:
        """An mleg parent's legs as the engine books them: each leg's cumulative contracts
        and average (``()`` for any other order), as venues/alpaca/reports.py reads them."""
        if order.order_class != "mleg" or order.parent_id is not None:
            return ()
        orders = self.book.orders
        return tuple(
            LegFill(
                leg.symbol,
                float(leg.filled_qty),
                float(leg.filled_avg_price) if leg.filled_avg_price is not None else 0.0,
            )
            for leg in (orders[i] for i in order.legs)
        )

    def quoted(self, symbol: str) -> bool:
        """Whether the backtest has seen a quote of ``symbol`` (its prints no longer touch)."""
        return symbol in self._quoted or symbol in self.last_quotes

    def trade(self, t: AnyTrade) -> list[Execution]:
        """A print: the touch of a symbol never quoted, else the queue model's (if any)."""
        if not self.quoted(t.symbol):
            self._printed.add(t.symbol)
            return self._stand_in(t.symbol, t.price, t.size, t.timestamp, type(t) in _CRYPTO)
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

    def bar_touches(self, symbol: str) -> bool:
        """Whether a bar of ``symbol`` is its touch: it has neither quoted nor printed."""
        return symbol not in self._printed and not self.quoted(symbol)

    def bar(self, b: AnyBar) -> list[Execution]:
        """A bar: the touch of a symbol that has neither quoted nor printed (at its close)."""
        if not self.bar_touches(b.symbol):
            return []
        return self._stand_in(b.symbol, b.close, b.volume, b.end, type(b) in _CRYPTO)

    def bars_first(self, events: list[Any]) -> list[Execution]:
        """The bars of a frame, taken before the rest of it (the backtest with zero latency),
        but a bar whose symbol quoted or printed earlier in the frame is no touch."""
        execs: list[Execution] = []
        seen: set[str] = set()
        for ev in events:
            etype = type(ev)
            if etype in BARS:
                if ev.symbol not in seen:
                    execs.extend(self.bar(ev))
            elif etype is Quote or etype is CryptoQuote or etype is Trade or etype is CryptoTrade:
                seen.add(ev.symbol)
        return execs

    def touching_closes(self, events: list[Any]) -> Iterator[tuple[str, float]]:
        """``(symbol, close)`` of each bar in ``events`` that is its symbol's touch."""
        for ev in events:
            if type(ev) in BARS and self.bar_touches(ev.symbol) and 0.0 < ev.close < _INF:
                yield ev.symbol, ev.close

    def _stand_in(
        self, symbol: str, price: float, size: float, ts: int, crypto: bool
    ) -> list[Execution]:
        if crypto:
            self.list_pair(symbol)
        touch = NBBO(symbol, price, size, price, size, ts)
        if not self.book.live_by_symbol.get(symbol):
            self.last_prints[symbol] = touch  # priced when an order arrives, as last_quotes
            return []
        self.last_prints.pop(symbol, None)
        return self.book.on_quote(touch)

    def submit(self, body: dict[str, object]) -> tuple[SimOrder, list[Execution]]:
        """Book and route one order (raises ``OrderError`` as the REST server would answer)."""
        symbol = str(body.get("symbol", ""))
        legs = body.get("legs") if body.get("order_class") == "mleg" else None
        symbols = [symbol]
        if isinstance(legs, (list, tuple)):  # an mleg order: its legs' contracts and quotes
            # A MultiLegRequest's legs as the REST server decodes them: a JSON array.
            body = {**body, "legs": list(legs)}
            symbols = [str(leg.get("symbol", "")) for leg in legs if isinstance(leg, dict)]
        for name in symbols:
            if is_crypto(name):
                self.list_pair(name)
            elif len(name) >= OCC_MIN_LEN:
                self.list_contract(name.upper().removeprefix("O:"))
            self._price(name)
        order = self.book.submit(body)
        execs = self.book.activate(order)
        if self.queue_model and order.is_open and order.type == "limit" and order.symbol:
            self._ahead[order.id] = self._joined(order)
        return order, execs

    def _price(self, symbol: str) -> None:
        # The latest quote (or stand-in print) of a symbol nothing was working on becomes
        # its NBBO at the book, now that it is needed.
        pending = self.last_quotes.pop(symbol, None)
        touch = self.last_prints.pop(symbol, None)
        if pending is not None:
            self._quoted.add(pending.symbol)
            self.book.quotes[pending.symbol] = _nbbo(pending)
        elif touch is not None and symbol not in self._quoted:  # else a quote came since
            self.book.quotes[symbol] = touch

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


class Hears(Mapping[str, object]):
    """The symbols whose prints ``broker`` must hear: those with working orders, and those
    never quoted (their prints are their touch). The backtest's hot loop reads it in place
    of :attr:`SimBook.live_by_symbol` only while some symbol has had no quote."""

    __slots__ = ("_live", "_quoted")

    def __init__(self, broker: BacktestBroker) -> None:
        self._live = broker.book.live_by_symbol
        self._quoted = broker.quoted

    def get(self, symbol: str, default: object = None) -> object:
        return self._live.get(symbol) or not self._quoted(symbol)

    def __getitem__(self, symbol: str) -> object:
        hears = self.get(symbol)
        if not hears:
            raise KeyError(symbol)
        return hears

    def __iter__(self) -> Iterator[str]:
        return iter(self._live)

    def __len__(self) -> int:
        return len(self._live)


def replacement_fact(new: SimOrder, replaces: str) -> OrderFact:
    """The engine's view of a replacement the book made for the order ``replaces``."""
    return OrderFact(
        new.client_order_id,
        new.status,
        new.id,
        symbol=new.symbol,
        side=new.side,
        qty=float(new.qty or 0),
        order_type=new.type,
        limit_price=float(new.limit_price) if new.limit_price is not None else None,
        replaces=replaces,
    )


def _nbbo(q: AnyQuote) -> NBBO:
    if type(q) is CryptoQuote:  # coins, not round lots; the book names the pair BTC/USD
        ts = q.timestamp
        return NBBO(q.symbol, q.bid_price, q.bid_size, q.ask_price, q.ask_size, ts)
    assert type(q) is Quote
    if len(q.symbol) >= OCC_MIN_LEN and OCC.fullmatch(q.symbol):  # an option: in contracts
        return NBBO(q.symbol, q.bid_price, q.bid_size, q.ask_price, q.ask_size, q.timestamp)
    return NBBO(
        q.symbol,
        q.bid_price,
        int(q.bid_size) * ROUND_LOT,
        q.ask_price,
        int(q.ask_size) * ROUND_LOT,
        q.timestamp,
    )
