"""Paper-broker book and matching engine, sans-I/O (reference/alpaca.md sections 4, 6, 9).

Orders fill against the simulator's own NBBO, as Alpaca paper does against the real one:
marketable orders fill at the touch (buy at the ask, sell at the bid), resting limit orders
are re-evaluated on every quote, stops trigger on quotes, size is not checked against the
quote, and a fill may be partial with a configurable probability. Everything here is
synchronous and returns :class:`Execution` records; the server turns them into
trade_updates messages after the HTTP response is written.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from tradewire.sim.broker import crypto, entry, mleg, options
from tradewire.sim.broker.account import AccountFigures
from tradewire.sim.broker.control import OrderControl
from tradewire.sim.broker.crypto import CryptoAsset, FeeRecord
from tradewire.sim.broker.expiry import OptionActivity
from tradewire.sim.broker.orders import (
    CENT,
    TERMINAL,
    Clock,
    Execution,
    FillRecord,
    OrderError,
    SimOrder,
    SimPosition,
    activity_id,
    shifted,
    wall_clock,
)
from tradewire.sim.market import NBBO
from tradewire.sim.option_chain import OptionChains


def _uuid4() -> str:
    return str(uuid.uuid4())


class SimBook(AccountFigures, OrderControl):
    """Orders, positions, cash and buying power of one paper account."""

    def __init__(
        self,
        *,
        starting_cash: Decimal = Decimal(100000),
        partial_fill_probability: float = 0.0,
        seed: int = 0,
        shorting_enabled: bool = True,
        new_id: Callable[[], str] | None = None,
        clock: Clock = wall_clock,
        crypto: Mapping[str, CryptoAsset] | None = None,
        crypto_fee_rate: Decimal = Decimal(0),
        option_chains: OptionChains | None = None,
    ) -> None:
        # The book's own time, stamped on its orders, events and fills: a backtest passes
        # its simulated clock; two books in one process never share one.
        self.clock = clock
        # A backtest passes a seeded id source: its journal (which records broker order and
        # execution ids) must be byte-identical from run to run.
        self._new_id = new_id or _uuid4
        self.cash = starting_cash
        self.starting_cash = starting_cash
        self.orders: dict[str, SimOrder] = {}
        self.orders_by_client_id: dict[str, SimOrder] = {}
        self._live_by_symbol: dict[str, list[SimOrder]] = {}
        self.positions: dict[str, SimPosition] = {}
        self.quotes: dict[str, NBBO] = {}
        self.partial_fill_probability = partial_fill_probability
        self.shorting_enabled = shorting_enabled
        self.rng = random.Random(seed)
        self.account_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"tradewire-sim/account/{seed}"))
        # Every execution, in the order it happened, whether or not anyone watched the stream.
        self.fills: list[FillRecord] = []
        self.fill_index: dict[str, int] = {}  # FillRecord.id -> its place in ``fills``
        # The crypto pairs the venue lists, by pair key (BTC/USD): their orders follow
        # Alpaca's crypto rules (sim/broker/crypto.py), their positions are keyed BTC/USD.
        self.crypto: dict[str, CryptoAsset] = dict(crypto or {})
        # Crypto fee per fill (0.0025 = Alpaca's tier-1 taker 0.25 %), in the asset received.
        self.crypto_fee_rate = crypto_fee_rate
        self.fees: list[FeeRecord] = []
        # The option contracts the venue lists (sim/option_chain.py): their orders follow
        # Alpaca's option rules (options.py, mleg.py), their positions are in contracts.
        self.options = option_chains
        self.option_activities: list[OptionActivity] = []  # OPEXC, OPASN, OPEXP (expiry.py)

    def book_symbol(self, symbol: str) -> str:
        """The book's key of a symbol in any form: ``BTC/USD`` for a listed pair (also when
        written ``BTCUSD``), the upper-case ticker otherwise."""
        asset = crypto.find(symbol, self.crypto)
        return asset.symbol if asset is not None else symbol.upper().removeprefix("O:")

    @property
    def live_by_symbol(self) -> Mapping[str, list[SimOrder]]:
        """Working orders per symbol, read-only. A host that feeds the book skips the symbols
        with none (the backtest's hot loop reads this once per batch: a method call per
        event would cost it)."""
        return self._live_by_symbol

    # -- order entry ---------------------------------------------------------------------

    def validate_and_create(self, body: dict[str, object]) -> SimOrder:
        """Validate a POST /v2/orders body (section 4) and build the order, not yet booked
        (an mleg order: see :meth:`submit`)."""
        symbol = body.get("symbol")
        if not isinstance(symbol, str) or not symbol:
            raise OrderError(422, 40010001, "symbol is required")
        cid = self._client_order_id(body)
        at = self.clock()
        pair = crypto.find(symbol, self.crypto)
        if pair is not None:
            held = self.positions.get(pair.symbol, SimPosition(pair.symbol)).qty
            return crypto.build_order(
                body, pair, client_order_id=cid, new_id=self._new_id, at=at, held=held
            )
        contract = options.find_contract(self.options, symbol)
        if contract is not None:
            return options.build_order(
                body, contract, client_order_id=cid, new_id=self._new_id, at=at
            )
        return entry.equity_order(
            body, symbol.upper(), client_order_id=cid, new_id=self._new_id, at=at
        )

    def _client_order_id(self, body: dict[str, object]) -> str:
        cid = body.get("client_order_id")
        if cid is None or cid == "":
            cid = self._new_id()
        if not isinstance(cid, str):
            raise OrderError(422, 40010001, "client_order_id must be a string")
        if len(cid) > 128:
            raise OrderError(422, 40010001, "client_order_id must be no more than 128 characters")
        if cid in self.orders_by_client_id:
            raise OrderError(422, 40010001, "client_order_id must be unique")
        return cid

    def submit(self, body: dict[str, object]) -> SimOrder:
        """Validate and book a new order in status ``accepted``; nothing is matched yet.

        The caller answers the HTTP request first and then calls :meth:`activate`, so fills
        are never visible in the POST response, as on the real venue (section 6).
        """
        legs: list[SimOrder] = []
        if body.get("order_class") == "mleg":
            cid = self._client_order_id(body)
            order, legs = mleg.build(
                body, self.options, client_order_id=cid, new_id=self._new_id, at=self.clock()
            )
        else:
            order = self.validate_and_create(body)
        if order.order_class in ("bracket", "oco", "oto"):
            legs = entry.bracket_legs(order, body, new_id=self._new_id, at=self.clock())
        if order.order_class == "oco":
            # OCO is exit-only: the order itself is the take-profit limit, the leg is the stop.
            for leg in legs:
                leg.status = "new"
        if order.side == "buy" or order.order_class == "mleg":
            cost = self._order_cost(order, order.qty, legs)
            if cost > self.buying_power:
                raise OrderError(
                    403,
                    40310000,
                    "insufficient buying power",
                    buying_power=str(self.buying_power),
                    cost_basis=str(cost.quantize(CENT)),
                )
        elif order.symbol in self.crypto:
            live = self._live_by_symbol.get(order.symbol, [])
            crypto.refuse_short(self.crypto[order.symbol], order, self.positions, live)
        elif not self.shorting_enabled:
            held = self.positions.get(order.symbol, SimPosition(order.symbol)).qty
            if order.qty is not None and order.qty > held:
                raise OrderError(
                    403,
                    40310000,
                    f"insufficient qty available for order (requested: {order.qty}, available: {held})",
                )
        order.status = "accepted"
        self._book(order)
        for leg in legs:
            order.legs.append(leg.id)
            if order.order_class == "mleg":
                leg.status = "accepted"
            self._book(leg)
        return order

    def activate(self, order: SimOrder) -> list[Execution]:
        """Route an accepted order: ``new``, then whatever fills against the current quote."""
        if order.status != "accepted":
            return []
        order.status = "new"
        at = self.clock()
        order.touch(at)
        if order.order_class == "mleg":  # the legs are the parent's, one event for all
            for leg_id in order.legs:
                self.orders[leg_id].status = "new"
        execs = [Execution("new", order, at=at)]
        execs.extend(self._evaluate(order))
        return execs

    def open_orders(self) -> list[SimOrder]:
        """Every order not yet ended, without walking every order ever booked (a client
        reconciling every few seconds made ``GET /v2/orders?status=open`` O(all orders) on
        the simulator's loop, and its stalls showed up in the bench's wire-out p99)."""
        return [
            order
            for orders in self._live_by_symbol.values()
            for order in orders
            if order.status not in TERMINAL
        ]

    def book_order(self, order: SimOrder) -> None:
        """Record an order built elsewhere (a refused replacement keeps its id at the venue)."""
        self._book(order)

    def _book(self, order: SimOrder) -> None:
        self.orders[order.id] = order
        self.orders_by_client_id[order.client_order_id] = order
        self._live_by_symbol.setdefault(order.symbol, []).append(order)

    # -- matching ------------------------------------------------------------------------

    def on_quote(self, nbbo: NBBO) -> list[Execution]:
        self.quotes[nbbo.symbol] = nbbo
        execs: list[Execution] = []
        # Only this symbol's non-terminal orders: scanning every order ever booked made each
        # quote O(orders) and, 500 orders into a 20k quotes/s bench, kept the simulator too
        # busy to read incoming orders on time.
        orders = self._live_by_symbol.get(nbbo.symbol)
        if not orders:
            return execs
        live = [o for o in orders if o.status not in TERMINAL]
        if len(live) != len(orders):
            self._live_by_symbol[nbbo.symbol] = live
        for order in live:
            if order.is_open:
                execs.extend(self._evaluate(order))
        return execs

    def _evaluate(self, order: SimOrder) -> list[Execution]:
        # One look at the book for one order: fill what is marketable, handle IOC/FOK.
        if order.order_class == "mleg":  # the strategy is matched as one, on any leg's quote
            return mleg.evaluate(self, self.orders.get(order.parent_id or "", order))
        if not order.is_open:
            return []
        q = self.quotes.get(order.symbol)
        if q is None or q.bid_price <= 0 or q.ask_price <= 0:
            return []  # no quote yet: wait for the first one (documented in the README)
        bid, ask = Decimal(str(q.bid_price)), Decimal(str(q.ask_price))
        touch = ask if order.side == "buy" else bid
        price = entry.marketable_price(order, bid, ask, touch)
        if price is None:
            if order.time_in_force in ("ioc", "fok"):
                return self._finish(order, "canceled")
            return []
        qty = order.remaining if order.qty is not None else None
        if qty is None:
            # Notional market order: whole shares and fractions at the touch, all at once;
            # ``qty`` stays null, as in Alpaca's frames (tests/fixtures ws_trade_update_fill).
            assert order.notional is not None
            pair = self.crypto.get(order.symbol)
            step = pair.min_trade_increment if pair is not None else Decimal("0.000000001")
            qty = (order.notional / price).quantize(step, rounding=ROUND_DOWN)
            return self._fill(order, qty, price)
        fill_qty = qty
        if (
            order.time_in_force != "fok"
            and self.partial_fill_probability > 0
            and qty > 1
            and self.rng.random() < self.partial_fill_probability
        ):
            fill_qty = Decimal(self.rng.randint(1, int(qty) - 1)) if qty >= 2 else qty
        execs = self._fill(order, fill_qty, price)
        if order.is_open and order.time_in_force == "ioc":
            execs.extend(self._finish(order, "canceled"))
        return execs

    def _fill_time(self) -> datetime:
        # Strictly increasing, so transaction_time orders the fills as they happened.
        at = self.clock()
        if self.fills and at <= self.fills[-1].transaction_time:
            at = self.fills[-1].transaction_time + timedelta(microseconds=1)
        return at

    def new_execution_id(self) -> str:
        return self._new_id()

    def _fill(self, order: SimOrder, qty: Decimal, price: Decimal) -> list[Execution]:
        at, execution_id, new_qty = self.apply_fill(order, qty, price)
        partial = order.remaining > 0
        event = "partial_fill" if partial else "fill"
        execs = [Execution(event, order, qty, price, new_qty, execution_id, at=at)]
        if not partial:
            execs.extend(self._on_filled(order))
        return execs

    def apply_fill(
        self, order: SimOrder, qty: Decimal, price: Decimal
    ) -> tuple[datetime, str, Decimal]:
        """Book one execution of ``order``: its state, cash, the position and the FILL
        activity. Returns the time, execution id and the position's new qty."""
        at = self._fill_time()
        execution_id = self._new_id()
        prev = order.filled_qty
        order.filled_qty = prev + qty
        order.filled_avg_price = (
            price
            if order.filled_avg_price is None
            else (order.filled_avg_price * prev + price * qty) / order.filled_qty
        )
        order.touch(at)
        signed = qty if order.side == "buy" else -qty
        self.cash -= signed * price * order.multiplier
        pos = self.positions.get(order.symbol)
        if pos is None:
            pos = self.positions[order.symbol] = SimPosition(
                order.symbol, asset_id=order.asset_id, multiplier=order.multiplier
            )
        activity_side = order.side
        if order.side == "sell" and pos.qty <= 0:
            activity_side = "sell_short"  # opens or adds to a short position
        new_qty = shifted(pos, signed, price)
        if self.crypto_fee_rate and order.symbol in self.crypto:
            fee = crypto.fee(order, qty, price, self.crypto_fee_rate, at, self._new_id())
            new_qty -= fee.qty
            self.cash -= fee.usd
            self.fees.append(fee)
        pos.qty = new_qty
        if new_qty == 0:
            del self.positions[order.symbol]
        partial = order.remaining > 0
        event = "partial_fill" if partial else "fill"
        order.status = "partially_filled" if partial else "filled"
        if not partial:
            order.filled_at = at
        record = FillRecord(
            id=activity_id(at, execution_id),
            transaction_time=at,
            type=event,
            price=price,
            qty=qty,
            side=activity_side,
            symbol=order.symbol,
            leaves_qty=order.remaining,
            order_id=order.id,
            cum_qty=order.filled_qty,
            order_status=order.status,
            execution_id=execution_id,
        )
        self.fill_index[record.id] = len(self.fills)
        self.fills.append(record)
        return at, execution_id, new_qty
