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

from tradewire.sim.broker import crypto
from tradewire.sim.broker.account import AccountFigures
from tradewire.sim.broker.crypto import CryptoAsset, FeeRecord
from tradewire.sim.broker.orders import (
    CENT,
    ORDER_TYPES,
    TERMINAL,
    TIFS,
    Clock,
    Execution,
    FillRecord,
    OrderError,
    SimOrder,
    SimPosition,
    _check_tick,
    _dec,
    activity_id,
    asset_id_for,
    wall_clock,
)
from tradewire.sim.market import NBBO


def _uuid4() -> str:
    return str(uuid.uuid4())


class SimBook(AccountFigures):
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

    def book_symbol(self, symbol: str) -> str:
        """The book's key of a symbol in any form: ``BTC/USD`` for a listed pair (also when
        written ``BTCUSD``), the upper-case ticker otherwise."""
        asset = crypto.find(symbol, self.crypto)
        return asset.symbol if asset is not None else symbol.upper()

    @property
    def live_by_symbol(self) -> Mapping[str, list[SimOrder]]:
        """Working orders per symbol, read-only. A host that feeds the book skips the symbols
        with none (the backtest's hot loop reads this once per batch: a method call per
        event would cost it)."""
        return self._live_by_symbol

    # -- order entry ---------------------------------------------------------------------

    def validate_and_create(self, body: dict[str, object]) -> SimOrder:
        """Validate a POST /v2/orders body (section 4) and build the order, not yet booked."""
        symbol = body.get("symbol")
        side = body.get("side")
        otype = body.get("type") or body.get("order_type")
        tif = body.get("time_in_force")
        if not isinstance(symbol, str) or not symbol:
            raise OrderError(422, 40010001, "symbol is required")
        pair = crypto.find(symbol, self.crypto)
        if pair is not None:
            return crypto.build_order(
                body,
                pair,
                client_order_id=self._client_order_id(body),
                new_id=self._new_id,
                at=self.clock(),
                held=self.positions.get(pair.symbol, SimPosition(pair.symbol)).qty,
            )
        if side not in ("buy", "sell"):
            raise OrderError(422, 40010001, "side must be buy or sell")
        if otype not in ORDER_TYPES:
            raise OrderError(422, 40010001, f"invalid order type: {otype!r}")
        if tif not in TIFS:
            raise OrderError(422, 40010001, f"invalid time_in_force: {tif!r}")
        qty = _dec(body.get("qty"), "qty")
        notional = _dec(body.get("notional"), "notional")
        if (qty is None) == (notional is None):
            raise OrderError(422, 40010001, "qty or notional is required (exactly one)")
        if qty is not None and qty <= 0:
            raise OrderError(422, 40010001, "qty must be > 0")
        if notional is not None and (notional <= 0 or otype != "market" or tif != "day"):
            raise OrderError(422, 40010001, "notional orders must be market orders with day tif")
        limit = _dec(body.get("limit_price"), "limit_price")
        stop = _dec(body.get("stop_price"), "stop_price")
        trail_price = _dec(body.get("trail_price"), "trail_price")
        trail_pct = _dec(body.get("trail_percent"), "trail_percent")
        order_class = str(body.get("order_class") or "simple")
        if otype in ("limit", "stop_limit") and limit is None:
            raise OrderError(422, 40010001, "limit_price is required for limit orders")
        if otype in ("stop", "stop_limit") and stop is None:
            raise OrderError(422, 40010001, "stop_price is required for stop orders")
        if otype == "trailing_stop" and (trail_price is None) == (trail_pct is None):
            raise OrderError(
                422, 40010001, "trailing_stop needs exactly one of trail_price, trail_percent"
            )
        _check_tick(limit, "limit_price")
        _check_tick(stop, "stop_price")
        extended = bool(body.get("extended_hours", False))
        if extended and (otype != "limit" or tif != "day"):
            raise OrderError(
                422, 40010001, 'only type="limit" is allowed for extended hours orders'
            )
        if qty is not None and qty != qty.to_integral_value() and tif != "day":
            raise OrderError(422, 40010001, "fractional orders must be day orders")
        cid = self._client_order_id(body)
        if order_class not in ("simple", "bracket", "oco", "oto", ""):
            raise OrderError(422, 40010001, f"invalid order_class: {order_class!r}")
        at = self.clock()
        order = SimOrder(
            id=self._new_id(),
            client_order_id=cid,
            symbol=symbol.upper(),
            side=str(side),
            type=str(otype),
            time_in_force=str(tif),
            qty=qty,
            notional=notional,
            limit_price=limit,
            stop_price=stop,
            trail_price=trail_price,
            trail_percent=trail_pct,
            extended_hours=extended,
            order_class=order_class or "simple",
            asset_id=asset_id_for(symbol.upper()),
            created_at=at,
            updated_at=at,
            submitted_at=at,
        )
        return order

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

    def _legs(self, parent: SimOrder, body: dict[str, object]) -> list[SimOrder]:
        # bracket: entry + take-profit limit + stop-loss; oto: entry + one; oco: exit pair.
        tp_raw, sl_raw = body.get("take_profit"), body.get("stop_loss")
        tp: dict[str, object] | None = tp_raw if isinstance(tp_raw, dict) else None
        sl: dict[str, object] | None = sl_raw if isinstance(sl_raw, dict) else None
        cls = parent.order_class
        if cls == "bracket" and (tp is None or sl is None):
            raise OrderError(422, 40010001, "bracket orders require take_profit and stop_loss")
        if cls == "oco" and (tp is None or sl is None or parent.type != "limit"):
            raise OrderError(
                422, 40010001, "oco orders require a limit take_profit and a stop_loss"
            )
        if cls == "oto" and (tp is None) == (sl is None):
            raise OrderError(
                422, 40010001, "oto orders require exactly one of take_profit, stop_loss"
            )
        exit_side = "sell" if parent.side == "buy" else "buy"
        legs: list[SimOrder] = []
        tif = parent.time_in_force if parent.time_in_force in ("day", "gtc") else "day"
        if tp is not None and cls != "oco":
            price = _dec(tp.get("limit_price"), "take_profit.limit_price")
            _check_tick(price, "take_profit.limit_price")
            if price is None:
                raise OrderError(422, 40010001, "take_profit.limit_price is required")
            legs.append(self._leg(parent, exit_side, "limit", tif, limit=price))
        if sl is not None:
            stop = _dec(sl.get("stop_price"), "stop_loss.stop_price")
            limit = _dec(sl.get("limit_price"), "stop_loss.limit_price")
            _check_tick(stop, "stop_loss.stop_price")
            if stop is None:
                raise OrderError(422, 40010001, "stop_loss.stop_price is required")
            otype = "stop_limit" if limit is not None else "stop"
            legs.append(self._leg(parent, exit_side, otype, tif, stop=stop, limit=limit))
        if cls == "bracket":
            tp_price, sl_price = legs[0].limit_price, legs[1].stop_price
            assert tp_price is not None
            assert sl_price is not None
            bad = tp_price <= sl_price if parent.side == "buy" else tp_price >= sl_price
            if bad:
                raise OrderError(
                    422, 42210000, "take_profit.limit_price must be beyond stop_loss.stop_price"
                )
        return legs

    def _leg(
        self,
        parent: SimOrder,
        side: str,
        otype: str,
        tif: str,
        *,
        limit: Decimal | None = None,
        stop: Decimal | None = None,
    ) -> SimOrder:
        at = self.clock()
        return SimOrder(
            id=self._new_id(),
            client_order_id=self._new_id(),
            symbol=parent.symbol,
            side=side,
            type=otype,
            time_in_force=tif,
            qty=parent.qty,
            limit_price=limit,
            stop_price=stop,
            order_class=parent.order_class,
            status="held",
            asset_id=parent.asset_id,
            parent_id=parent.id,
            created_at=at,
            updated_at=at,
            submitted_at=at,
        )

    def submit(self, body: dict[str, object]) -> SimOrder:
        """Validate and book a new order in status ``accepted``; nothing is matched yet.

        The caller answers the HTTP request first and then calls :meth:`activate`, so fills
        are never visible in the POST response, as on the real venue (section 6).
        """
        order = self.validate_and_create(body)
        legs = self._legs(order, body) if order.order_class in ("bracket", "oco", "oto") else []
        if order.order_class == "oco":
            # OCO is exit-only: the order itself is the take-profit limit, the leg is the stop.
            for leg in legs:
                leg.status = "new"
        if order.side == "buy":
            cost = self._order_cost(order, order.qty)
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
            self._book(leg)
        return order

    def activate(self, order: SimOrder) -> list[Execution]:
        """Route an accepted order: ``new``, then whatever fills against the current quote."""
        if order.status != "accepted":
            return []
        order.status = "new"
        at = self.clock()
        order.touch(at)
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

    # -- cancel / replace ----------------------------------------------------------------

    def get(self, order_id: str) -> SimOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise OrderError(404, 40410000, f"order not found for {order_id}")
        return order

    def cancel(self, order_id: str) -> list[Execution]:
        order = self.get(order_id)
        if order.status in TERMINAL:
            raise OrderError(422, 42210000, "order is not cancelable")
        execs = [Execution("pending_cancel", order, at=self.clock())]
        execs.extend(self._finish(order, "canceled"))
        for leg_id in order.legs:
            leg = self.orders[leg_id]
            if leg.status not in TERMINAL:
                execs.extend(self._finish(leg, "canceled"))
        return execs

    def cancel_all(self) -> list[tuple[SimOrder, list[Execution]]]:
        return [
            (order, self.cancel(order.id))
            for order in list(self.orders.values())
            if order.is_open and order.parent_id is None
        ]

    def replace(self, order_id: str, body: dict[str, object]) -> tuple[SimOrder, list[Execution]]:
        old = self.get(order_id)
        new = self.build_replacement(old, body)
        old.status = "replaced"
        old.replaced_by = new.id
        at = self.clock()
        old.replaced_at = at
        old.touch(at)
        self._book(new)
        execs = [Execution("replaced", old, at=at)]
        execs.extend(self.activate(new))
        return new, execs

    def build_replacement(self, old: SimOrder, body: dict[str, object]) -> SimOrder:
        """Validate a PATCH body against ``old`` and build the new order (not booked)."""
        if not old.is_open:
            raise OrderError(422, 42210000, "order is not replaceable")
        qty = _dec(body.get("qty"), "qty")
        limit = _dec(body.get("limit_price"), "limit_price")
        stop = _dec(body.get("stop_price"), "stop_price")
        pair = self.crypto.get(old.symbol)
        if pair is not None:
            crypto.check_replacement(pair, qty, limit, stop, body.get("time_in_force"))
        else:
            if qty is not None and (qty <= 0 or qty != qty.to_integral_value()):
                raise OrderError(422, 40010001, "qty must be a whole number > 0")
            _check_tick(limit, "limit_price")
            _check_tick(stop, "stop_price")
        cid = body.get("client_order_id")
        if isinstance(cid, str) and cid in self.orders_by_client_id:
            raise OrderError(422, 40010001, "client_order_id must be unique")
        at = self.clock()
        return SimOrder(
            id=self._new_id(),
            client_order_id=cid if isinstance(cid, str) and cid else self._new_id(),
            symbol=old.symbol,
            side=old.side,
            type=old.type,
            time_in_force=str(body.get("time_in_force") or old.time_in_force),
            qty=qty if qty is not None else old.remaining,
            limit_price=limit if limit is not None else old.limit_price,
            stop_price=stop if stop is not None else old.stop_price,
            trail_price=_dec(body.get("trail"), "trail") or old.trail_price,
            trail_percent=old.trail_percent,
            extended_hours=old.extended_hours,
            order_class=old.order_class,
            replaces=old.id,
            asset_id=old.asset_id,
            status="accepted",
            created_at=at,
            updated_at=at,
            submitted_at=at,
        )

    def expire_day_orders(self) -> list[Execution]:
        """End of session: open DAY orders end as ``expired`` (the reference leaves
        canceled-vs-expired UNCONFIRMED; ``expired`` is the TIF-end event that exists)."""
        execs: list[Execution] = []
        for order in list(self.orders.values()):
            if order.is_open and order.time_in_force in ("day", "opg", "cls"):
                execs.extend(self._finish(order, "expired"))
        return execs

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
        if not order.is_open:
            return []
        q = self.quotes.get(order.symbol)
        if q is None or q.bid_price <= 0 or q.ask_price <= 0:
            return []  # no quote yet: wait for the first one (documented in the README)
        bid, ask = Decimal(str(q.bid_price)), Decimal(str(q.ask_price))
        touch = ask if order.side == "buy" else bid
        price = self._marketable_price(order, bid, ask, touch)
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

    def _marketable_price(
        self, order: SimOrder, bid: Decimal, ask: Decimal, touch: Decimal
    ) -> Decimal | None:
        buy = order.side == "buy"
        otype = order.type
        if otype == "trailing_stop":
            ref = bid if not buy else ask
            if order.hwm is None:
                order.hwm = ref
            order.hwm = max(order.hwm, ref) if not buy else min(order.hwm, ref)
            offset = order.trail_price
            if offset is None:
                assert order.trail_percent is not None
                offset = order.hwm * order.trail_percent / 100
            order.stop_price = (order.hwm - offset if not buy else order.hwm + offset).quantize(
                CENT
            )
            otype = "stop"
        if otype in ("stop", "stop_limit") and not order.triggered:
            stop = order.stop_price
            assert stop is not None
            if (buy and ask >= stop) or (not buy and bid <= stop):
                order.triggered = True
            else:
                return None
        if otype in ("market", "stop"):
            return touch
        limit = order.limit_price
        assert limit is not None
        if buy and limit >= ask:
            return ask
        if not buy and limit <= bid:
            return bid
        return None

    def _fill_time(self) -> datetime:
        # Strictly increasing, so transaction_time orders the fills as they happened.
        at = self.clock()
        if self.fills and at <= self.fills[-1].transaction_time:
            at = self.fills[-1].transaction_time + timedelta(microseconds=1)
        return at

    def _fill(self, order: SimOrder, qty: Decimal, price: Decimal) -> list[Execution]:
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
        self.cash -= signed * price
        pos = self.positions.setdefault(
            order.symbol, SimPosition(order.symbol, asset_id=order.asset_id)
        )
        activity_side = order.side
        if order.side == "sell" and pos.qty <= 0:
            activity_side = "sell_short"  # opens or adds to a short position
        new_qty = pos.qty + signed
        if pos.qty == 0 or (pos.qty > 0) != (signed > 0):
            # Opening, reducing or flipping: the entry price only changes past zero.
            if new_qty != 0 and (pos.qty == 0 or (new_qty > 0) != (pos.qty > 0)):
                pos.avg_entry_price = price
        else:
            pos.avg_entry_price = (pos.avg_entry_price * pos.qty + price * signed) / new_qty
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
        execs = [Execution(event, order, qty, price, new_qty, execution_id, at=at)]
        if not partial:
            execs.extend(self._on_filled(order))
        return execs

    def _on_filled(self, order: SimOrder) -> list[Execution]:
        # Bracket/OTO: children go live after the entry fills; a filled child cancels siblings.
        execs: list[Execution] = []
        if order.order_class == "oco" and order.parent_id is None:
            for leg_id in order.legs:
                leg = self.orders[leg_id]
                if leg.status not in TERMINAL:
                    execs.extend(self._finish(leg, "canceled"))
            return execs
        for leg_id in order.legs:
            leg = self.orders[leg_id]
            if leg.status == "held":
                leg.status = "new"
                at = self.clock()
                leg.touch(at)
                execs.append(Execution("new", leg, at=at))
                execs.extend(self._evaluate(leg))
        if order.parent_id is not None:
            parent = self.orders[order.parent_id]
            siblings = [self.orders[i] for i in parent.legs if i != order.id]
            if parent.order_class == "oco" and parent.status not in TERMINAL:
                siblings.append(parent)
            for sib in siblings:
                if sib.status not in TERMINAL:
                    execs.extend(self._finish(sib, "canceled"))
        return execs

    def _finish(self, order: SimOrder, status: str) -> list[Execution]:
        at = self.clock()
        order.status = status
        order.touch(at)
        if status == "canceled":
            order.canceled_at = at
        elif status == "expired":
            order.expired_at = at
        return [Execution(status, order, at=at)]
