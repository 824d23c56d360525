"""Order state machine: one table, keyed by client_order_id (after h11's ``_state.py``).

Rule: every status change goes through :data:`TRANSITIONS`; nothing else assigns
``order.status``. Late, duplicate and out-of-order venue events are rows of the table
(mapped to the current status, i.e. ignored), not special cases in code. A pair missing
from the table is a bug or a venue surprise and raises :class:`InvalidTransition`.

Local statuses come before the venue's: INTENT (journaled, not yet written), SENT (bytes
on the socket), UNKNOWN (no definitive answer: resolved by lookup or the stream).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import NoReturn

from tradewire.engine.multileg import Leg, LegBooking, LegFill
from tradewire.engine.options import multiplier_of
from tradewire.errors import LocalProtocolError, RemoteProtocolError


class OrderStatus(enum.StrEnum):
    INTENT = "intent"
    SENT = "sent"
    UNKNOWN = "unknown"
    ACCEPTED = "accepted"
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    PENDING_CANCEL = "pending_cancel"
    PENDING_REPLACE = "pending_replace"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REPLACED = "replaced"
    REJECTED = "rejected"
    DONE_FOR_DAY = "done_for_day"
    ABANDONED = "abandoned"  # an intent found on restart that never reached the venue


TERMINAL = frozenset(
    {
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.EXPIRED,
        OrderStatus.REPLACED,
        OrderStatus.REJECTED,
        OrderStatus.ABANDONED,
    }
)


class InvalidTransition(LocalProtocolError):
    """An event arrived that the table has no row for in the order's current status."""


class InvalidFill(RemoteProtocolError):
    """A fill a peer reported that cannot be true: non-finite or non-positive numbers, or
    more than the order's quantity. It is refused before it touches any state.

    ``reason`` is a short fixed word (``overfill``, ``quantity``, ``price``, ``cumulative``)
    for counting; the message says the numbers."""

    def __init__(self, message: str, reason: str = "invalid") -> None:
        super().__init__(message)
        self.reason = reason


# -- events -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """Request bytes were written to the broker's socket."""


@dataclass(frozen=True, slots=True)
class Unknown:
    """Timeout, 5xx, 429 or disconnect after the write: the outcome is not known."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class Accepted:
    """The venue acknowledged the order (POST 200, or the ``accepted``/``pending_new`` event)."""

    broker_id: str = ""


@dataclass(frozen=True, slots=True)
class New:
    """The venue routed the order (``new`` event)."""

    broker_id: str = ""


@dataclass(frozen=True, slots=True)
class PartialFill:
    """One execution. ``cumulative`` (and ``cumulative_avg``) are the broker's totals for the
    order after it, when the source knows them: they make a fill seen twice by two routes
    (stream and reconciliation) count once, and a missed execution count when the next one
    arrives."""

    execution_id: str
    qty: float
    price: float
    cumulative: float | None = None
    cumulative_avg: float | None = None
    legs: tuple[LegFill, ...] = ()  # a multi-leg order's per-leg cumulative figures


@dataclass(frozen=True, slots=True)
class Fill:
    """As :class:`PartialFill`; the venue says the order is complete."""

    execution_id: str
    qty: float
    price: float
    cumulative: float | None = None
    cumulative_avg: float | None = None
    legs: tuple[LegFill, ...] = ()  # a multi-leg order's per-leg cumulative figures


@dataclass(frozen=True, slots=True)
class CancelRequested:
    """We asked to cancel (or the venue said ``pending_cancel``)."""


@dataclass(frozen=True, slots=True)
class Canceled:
    pass


@dataclass(frozen=True, slots=True)
class Expired:
    pass


@dataclass(frozen=True, slots=True)
class DoneForDay:
    pass


@dataclass(frozen=True, slots=True)
class ReplaceRequested:
    pass


@dataclass(frozen=True, slots=True)
class Replaced:
    replaced_by: str = ""


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CancelRejected:
    """The venue refused our cancel (``order_cancel_rejected``): the cancel is no longer
    pending and the order keeps working (it may be filling, or pending a replace)."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class ReplaceRejected:
    """The venue refused our replace (``order_replace_rejected``): the original order keeps
    working as it was."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class Abandoned:
    """Restart reconciliation: the venue never saw this intent and it will not be sent."""


OrderEvent = (
    Sent
    | Unknown
    | Accepted
    | New
    | PartialFill
    | Fill
    | CancelRequested
    | Canceled
    | Expired
    | DoneForDay
    | ReplaceRequested
    | Replaced
    | Rejected
    | Abandoned
    | CancelRejected
    | ReplaceRejected
)

S = OrderStatus
_EPS = 1e-9  # float residue allowed on quantities (fractional shares go to 9 places)
_LIVE_FILLS: dict[type, OrderStatus] = {PartialFill: S.PARTIALLY_FILLED, Fill: S.FILLED}
_VENUE_ENDS: dict[type, OrderStatus] = {
    Canceled: S.CANCELED,
    Expired: S.EXPIRED,
    Rejected: S.REJECTED,
    Replaced: S.REPLACED,
    DoneForDay: S.DONE_FOR_DAY,
}


def _stay(status: OrderStatus, *events: type) -> dict[type, OrderStatus]:
    return dict.fromkeys(events, status)


# A refused cancel or replace changes nothing where nothing was pending (late, duplicate, or
# after the order ended); where it was pending, the order is working again (NEW, or
# PARTIALLY_FILLED when it holds fills: see OrderManager.apply).
_REFUSALS = (CancelRejected, ReplaceRejected)


# The one table. Reading a row: in status X, event E moves the order to status Y.
TRANSITIONS: dict[OrderStatus, dict[type, OrderStatus]] = {
    S.INTENT: {
        Sent: S.SENT,
        Rejected: S.REJECTED,
        Abandoned: S.ABANDONED,
        Unknown: S.UNKNOWN,
        Accepted: S.ACCEPTED,
        New: S.NEW,
        **_LIVE_FILLS,
    },
    S.SENT: {
        Accepted: S.ACCEPTED,
        New: S.NEW,
        Unknown: S.UNKNOWN,
        Abandoned: S.ABANDONED,  # a crash mid-POST, and the broker has no such order
        CancelRequested: S.PENDING_CANCEL,
        **_LIVE_FILLS,
        **_VENUE_ENDS,
        **_stay(S.SENT, Sent, *_REFUSALS),
    },
    S.UNKNOWN: {
        Accepted: S.ACCEPTED,
        New: S.NEW,
        Abandoned: S.ABANDONED,
        Sent: S.SENT,
        CancelRequested: S.PENDING_CANCEL,
        **_LIVE_FILLS,
        **_VENUE_ENDS,
        **_stay(S.UNKNOWN, Unknown, *_REFUSALS),
    },
    S.ACCEPTED: {
        New: S.NEW,
        CancelRequested: S.PENDING_CANCEL,
        ReplaceRequested: S.PENDING_REPLACE,
        **_LIVE_FILLS,
        **_VENUE_ENDS,
        **_stay(S.ACCEPTED, Accepted, Sent, Unknown, *_REFUSALS),
    },
    S.NEW: {
        CancelRequested: S.PENDING_CANCEL,
        ReplaceRequested: S.PENDING_REPLACE,
        **_LIVE_FILLS,
        **_VENUE_ENDS,
        **_stay(S.NEW, Accepted, New, Sent, Unknown, *_REFUSALS),
    },
    S.PARTIALLY_FILLED: {
        CancelRequested: S.PENDING_CANCEL,
        ReplaceRequested: S.PENDING_REPLACE,
        **_LIVE_FILLS,
        **_VENUE_ENDS,
        **_stay(S.PARTIALLY_FILLED, Accepted, New, Sent, Unknown, *_REFUSALS),
    },
    S.PENDING_CANCEL: {
        **_LIVE_FILLS,
        **_VENUE_ENDS,
        **_stay(S.PENDING_CANCEL, Accepted, New, Sent, Unknown, CancelRequested, ReplaceRejected),
        CancelRejected: S.NEW,
    },
    S.PENDING_REPLACE: {
        **_LIVE_FILLS,
        **_VENUE_ENDS,
        CancelRequested: S.PENDING_CANCEL,
        **_stay(S.PENDING_REPLACE, Accepted, New, Sent, Unknown, ReplaceRequested, CancelRejected),
        ReplaceRejected: S.NEW,
    },
    S.DONE_FOR_DAY: {
        New: S.NEW,
        **_LIVE_FILLS,
        **_VENUE_ENDS,
        **_stay(S.DONE_FOR_DAY, Accepted, *_REFUSALS),
    },
    # Terminal states absorb late and duplicate events (a `new` after the fill, a second
    # cancel ack). A fill after a cancel still counts: the venue filled before it canceled.
    S.FILLED: _stay(
        S.FILLED,
        Sent,
        Unknown,
        Accepted,
        New,
        CancelRequested,
        Canceled,
        Expired,
        Fill,
        PartialFill,
        ReplaceRequested,
        DoneForDay,
        *_REFUSALS,
    ),
    S.CANCELED: {
        **_stay(
            S.CANCELED,
            Sent,
            Unknown,
            Accepted,
            New,
            CancelRequested,
            Canceled,
            Expired,
            DoneForDay,
            Rejected,
            *_REFUSALS,
        ),
        PartialFill: S.CANCELED,
        Fill: S.CANCELED,
    },
    S.EXPIRED: {
        **_stay(
            S.EXPIRED,
            Sent,
            Unknown,
            Accepted,
            New,
            CancelRequested,
            Canceled,
            Expired,
            DoneForDay,
            *_REFUSALS,
        ),
        PartialFill: S.EXPIRED,
        Fill: S.EXPIRED,
    },
    S.REPLACED: _stay(
        S.REPLACED,
        Sent,
        Unknown,
        Accepted,
        New,
        CancelRequested,
        Canceled,
        Replaced,
        PartialFill,
        Fill,
        *_REFUSALS,
    ),
    S.REJECTED: _stay(S.REJECTED, Sent, Unknown, Rejected, Canceled, CancelRequested, *_REFUSALS),
    S.ABANDONED: _stay(S.ABANDONED, Abandoned, Unknown),
}


@dataclass(slots=True)
class Order:
    """An order as the engine knows it. Quantities are floats: the hot path avoids Decimal."""

    client_order_id: str
    symbol: str
    side: str
    qty: float
    order_type: str
    limit_price: float | None = None
    status: OrderStatus = OrderStatus.INTENT
    broker_id: str = ""
    filled_qty: float = 0.0
    avg_fill_price: float = 0.0
    strategy: str = ""
    created_ns: int = 0
    reason: str = ""
    executions: set[str] = field(default_factory=set)
    # The price its notional is counted at while it works (limit, or the reference price
    # when it was sent), and the quantity currently counted as working.
    ref_price: float = 0.0
    counted: float = 0.0
    # A notional order (dollars, ``qty`` 0: the quantity is known only by its fills), as
    # placed outside the engine (the dashboard, another tool) and adopted.
    notional: float = 0.0
    # A multi-leg order (engine/multileg.py): its legs, and per leg the contracts booked
    # and their average ([qty, avg]); ``qty`` counts units, prices are the signed net.
    legs: tuple[Leg, ...] = ()
    leg_held: list[list[float]] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status not in TERMINAL

    @property
    def remaining(self) -> float:
        if self.qty <= 0.0 < self.notional:
            # What the unspent notional buys at the reference price: risk counts the notional.
            if self.ref_price <= 0.0:
                return 0.0
            spent = self.avg_fill_price * self.filled_qty
            return max(0.0, (self.notional - spent) / self.ref_price)
        return max(0.0, self.qty - self.filled_qty)


@dataclass(frozen=True, slots=True)
class Applied:
    """What :meth:`OrderManager.apply` did: the move, and the fill that counted (if any)."""

    order: Order
    before: OrderStatus
    after: OrderStatus
    fill_qty: float = 0.0
    fill_price: float = 0.0
    legs: tuple[LegBooking, ...] = ()  # a multi-leg order's fills, leg by leg

    @property
    def changed(self) -> bool:
        return self.before is not self.after or self.fill_qty > 0 or bool(self.legs)


class OrderManager:
    """All orders of the session; the only writer of ``Order.status``."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.by_broker_id: dict[str, Order] = {}
        self.open_count = 0
        self.ignored_events = 0
        self.refused_events = 0
        self.refused_reasons: dict[str, int] = {}  # bounded: the reasons are fixed words
        # Working (open, unfilled) quantity per symbol as [buy, sell], and the notional of
        # every working order: risk counts them as if they all fill.
        self.working: dict[str, list[float]] = {}
        self.working_notional = 0.0

    def create(self, order: Order) -> Order:
        """Add a new order (status INTENT or another open one). On the hot path: kept lean."""
        cid = order.client_order_id
        orders = self.orders
        if cid in orders:
            raise InvalidTransition(f"client_order_id {cid!r} already exists")
        orders[cid] = order
        if order.status in TERMINAL:
            return order
        self.open_count += 1
        # Count it as working (inline _recount: a new order's counted quantity is 0).
        qty = order.qty - order.filled_qty if order.notional <= 0.0 else order.remaining
        if qty > 0.0:
            order.counted = qty
            w = self.working.get(order.symbol)
            if w is None:
                w = self.working[order.symbol] = [0.0, 0.0]
            w[0 if order.side == "buy" else 1] += qty
            self.working_notional += qty * order.ref_price * multiplier_of(order.symbol)
        return order

    def restore(self, order: Order) -> Order:
        """Put back an order as a journal snapshot recorded it (status and fills included)."""
        if order.client_order_id in self.orders:
            raise InvalidTransition(f"client_order_id {order.client_order_id!r} already exists")
        self.orders[order.client_order_id] = order
        if order.broker_id:
            self.by_broker_id[order.broker_id] = order
        if order.is_open:
            self.open_count += 1
        order.counted = 0.0
        self._recount(order)
        return order

    def evict_terminal(self, *, keep: int) -> list[str]:
        """Forget the oldest ended orders beyond ``keep``; returns their ids.

        A day at 5k orders/s must not hold every order in memory. Ended orders are kept for
        a while because late events (a duplicate fill, a second cancel ack) still arrive;
        one that arrives after eviction is handled as an order placed elsewhere.
        """
        ended = len(self.orders) - self.open_count
        if ended <= keep:
            return []
        evicted: list[str] = []
        for cid, order in list(self.orders.items()):
            if ended <= keep:
                break
            if order.status in TERMINAL:
                del self.orders[cid]
                if order.broker_id:
                    self.by_broker_id.pop(order.broker_id, None)
                evicted.append(cid)
                ended -= 1
        return evicted

    def working_qty(self, symbol: str) -> tuple[float, float]:
        """(buy, sell) quantity still working for ``symbol``."""
        w = self.working.get(symbol)
        return (w[0], w[1]) if w is not None else (0.0, 0.0)

    def _recount(self, order: Order) -> None:
        now = order.remaining if order.status not in TERMINAL else 0.0
        delta = now - order.counted
        if delta == 0.0:
            return
        order.counted = now
        w = self.working.get(order.symbol)
        if w is None:
            w = self.working[order.symbol] = [0.0, 0.0]
        w[0 if order.side == "buy" else 1] += delta
        self.working_notional += delta * order.ref_price * multiplier_of(order.symbol)
        if abs(w[0]) < 1e-9 and abs(w[1]) < 1e-9:
            del self.working[order.symbol]  # bounded: only symbols with working orders
        if not self.working:
            self.working_notional = 0.0  # no float residue once nothing works

    def get(self, client_order_id: str) -> Order | None:
        return self.orders.get(client_order_id)

    def open_orders(self) -> list[Order]:
        return [o for o in self.orders.values() if o.is_open]

    def apply(self, client_order_id: str, event: OrderEvent) -> Applied:
        """Move one order by one event, per the table. Duplicate fills count once.

        Raises:
            KeyError: unknown client_order_id.
            InvalidTransition: the table has no row for (status, event).
        """
        order = self.orders[client_order_id]
        before = order.status
        row = TRANSITIONS[before]
        etype = type(event)
        after = row.get(etype)
        if after is None:
            raise InvalidTransition(
                f"order {client_order_id}: {etype.__name__} in status {before.value}"
            )
        fill_qty = fill_price = 0.0
        if etype is Fill or etype is PartialFill:
            assert isinstance(event, Fill | PartialFill)
            if event.execution_id in order.executions:
                self.ignored_events += 1
                return Applied(order, before, before)
            if order.legs and event.qty == 0.0 and event.legs:
                # Legs filled, no whole unit: the ledger books the legs; the row only moves.
                order.executions.add(event.execution_id)
                if after is S.FILLED:
                    after = S.PARTIALLY_FILLED
                if before not in TERMINAL and after in TERMINAL:
                    self.open_count -= 1
                order.status = after
                return Applied(order, before, after)
            counted = self._fill_amount(order, event)
            if counted is None:
                self.ignored_events += 1  # already booked by another route
                return Applied(order, before, before)
            fill_qty, fill_price = counted
            order.executions.add(event.execution_id)
            total = order.filled_qty + fill_qty
            order.avg_fill_price = (
                order.avg_fill_price * order.filled_qty + fill_price * fill_qty
            ) / total
            order.filled_qty = total
            if etype is Fill and after is S.FILLED and order.filled_qty < order.qty - 1e-9:
                after = S.PARTIALLY_FILLED  # a per-execution "fill" that does not complete it
        elif etype is Accepted or etype is New:
            broker_id = event.broker_id  # type: ignore[union-attr]
            if broker_id and not order.broker_id:
                order.broker_id = broker_id
                self.by_broker_id[broker_id] = order
        elif etype is Rejected:
            order.reason = event.reason  # type: ignore[union-attr]
        elif etype is CancelRejected or etype is ReplaceRejected:
            order.reason = event.reason  # type: ignore[union-attr]
            if after is S.NEW and order.filled_qty > 0:
                after = S.PARTIALLY_FILLED  # working again, with the fills it holds
        if after is before and fill_qty == 0:
            self.ignored_events += 1
        if before not in TERMINAL and after in TERMINAL:
            self.open_count -= 1
        order.status = after
        if fill_qty or after is not before:
            self._recount(order)
        return Applied(order, before, after, fill_qty, fill_price)

    def _fill_amount(self, order: Order, event: Fill | PartialFill) -> tuple[float, float] | None:
        # What one fill adds, validated: (qty, price), or None when it is already counted.
        # An overfill is refused, never clamped: a fill of 500 on a 1-share order whose
        # forged cumulative said 1 was once booked as 1 share and left the order `filled`
        # while the broker had it canceled. Which part of such a fact is true is for
        # reconciliation to decide (the caller asks for a round), not for this table.
        qty, price = event.qty, event.price
        if not (math.isfinite(qty) and qty > 0):
            return self._refuse(order, "quantity", f"fill quantity {qty}")
        if not (math.isfinite(price) and (price > 0 or order.legs)):
            # A multi-leg order's price is its net, negative for a credit.
            return self._refuse(order, "price", f"fill price {price}")
        size = order.qty
        if size <= 0.0 < order.notional:
            size = math.inf  # a notional order: bounded by value (below), not by quantity
        if qty > size + _EPS:
            return self._refuse(
                order, "overfill", f"overfill: an execution of {qty} on a {order.qty}-share order"
            )
        cumulative = event.cumulative
        if cumulative is not None:
            if not math.isfinite(cumulative):
                return self._refuse(order, "cumulative", f"cumulative quantity {cumulative}")
            if cumulative > size + _EPS or qty > cumulative + _EPS:
                return self._refuse(
                    order,
                    "overfill",
                    f"overfill: an execution of {qty}, cumulative {cumulative},"
                    f" on a {order.qty}-share order",
                )
            missing = cumulative - order.filled_qty
            if missing <= _EPS:
                return None
            avg = event.cumulative_avg
            if avg is not None and math.isfinite(avg) and (avg > 0 or order.legs):
                # Book what we lack at the price that makes our average the broker's: exact
                # when an execution never reached us, and when another route booked part.
                derived = (avg * cumulative - order.avg_fill_price * order.filled_qty) / missing
                if 0 < derived < math.inf or (order.legs and math.isfinite(derived)):
                    price = derived
            qty = missing
        if order.filled_qty + qty > size + _EPS:
            return self._refuse(
                order,
                "overfill",
                f"overfill: {order.filled_qty} + {qty} of a {order.qty}-share order",
            )
        if size is math.inf:
            value = order.avg_fill_price * order.filled_qty + qty * price
            # 1% and a cent of slack for rounding across executions (the venue's exact
            # rounding of notional fills is UNCONFIRMED).
            if value > order.notional * 1.01 + 0.01:
                return self._refuse(
                    order, "overfill", f"overfill: {value:.2f} of a {order.notional} notional order"
                )
        return qty, price

    def _refuse(self, order: Order, reason: str, why: str) -> NoReturn:
        self.refused_events += 1
        self.refused_reasons[reason] = self.refused_reasons.get(reason, 0) + 1
        raise InvalidFill(f"order {order.client_order_id}: refused {why}", reason)
