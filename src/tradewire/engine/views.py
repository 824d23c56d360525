"""What a strategy holds and hears of its orders: handles, updates, position views, and the
names of order events and types. Plain data, no behaviour beyond reading it; the engine core
(:mod:`tradewire.engine.core`) keeps them current in every host.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

from tradewire.engine.multileg import Leg
from tradewire.engine.orders import OrderStatus

Side = Literal["buy", "sell"]
OrderType = Literal["market", "limit", "stop", "stop_limit", "trailing_stop"]
TimeInForce = Literal["day", "gtc", "opg", "cls", "ioc", "fok"]
OrderClass = Literal["bracket", "oco", "oto"]


class OrderEventType(enum.StrEnum):
    """What happened to an order (``OrderUpdate.event``); equal to the plain strings."""

    SENT = "sent"
    ACCEPTED = "accepted"
    NEW = "new"
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"
    PENDING_CANCEL = "pending_cancel"
    CANCELED = "canceled"
    PENDING_REPLACE = "pending_replace"
    REPLACED = "replaced"
    ORDER_CANCEL_REJECTED = "order_cancel_rejected"
    ORDER_REPLACE_REJECTED = "order_replace_rejected"
    EXPIRED = "expired"
    DONE_FOR_DAY = "done_for_day"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    ABANDONED = "abandoned"
    DENIED = "denied"


@dataclass(slots=True)
class OrderHandle:
    """A live view of one order, returned as soon as its request bytes are written.

    ``status`` follows the order state machine (an :class:`OrderStatus`: ``intent`` →
    ``sent`` → ``new`` → ``filled`` …); it is ``"denied"`` instead, with ``denied`` saying
    why, when pre-trade risk refused the order, which then never left. ``replaces`` names
    the order a :meth:`Strategy.replace` made this one replace.
    """

    client_order_id: str
    symbol: str
    side: Side
    qty: float
    order_type: OrderType
    limit_price: float | None = None
    status: str = OrderStatus.INTENT
    filled_qty: float = 0.0
    filled_avg_price: float | None = None
    broker_order_id: str | None = None
    denied: str | None = None
    reject_reason: str | None = None
    stop_price: float | None = None
    replaces: str | None = None
    notional: float | None = None  # a notional order's dollars (``qty`` is then 0)
    legs: tuple[Leg, ...] = ()  # a multi-leg order's legs (``symbol`` is them joined by +)

    @property
    def is_open(self) -> bool:
        return self.denied is None and self.status not in _TERMINAL

    @property
    def remaining_qty(self) -> float:
        return max(self.qty - self.filled_qty, 0.0)


_TERMINAL = frozenset({"filled", "canceled", "expired", "replaced", "rejected", "abandoned"})


@dataclass(slots=True, frozen=True)
class OrderUpdate:
    """One change to one order, as the strategy sees it (from REST replies or trade_updates).

    ``event`` is an :class:`OrderEventType`; ``fill_qty`` and ``fill_price`` are this fill's
    (0 and ``None`` when the change is no fill); ``position_qty`` is the account's position in
    the symbol after a fill.
    """

    event: str
    order: OrderHandle
    fill_qty: float = 0.0
    fill_price: float | None = None
    position_qty: float | None = None


@dataclass(slots=True)
class PositionView:
    symbol: str
    qty: float = 0.0
    avg_entry_price: float = 0.0
    realized_pnl: float = 0.0
    unrealized_pnl: float = 0.0
