"""The simulated broker's order records, executions, positions and the checks an order
body must pass; plain data, shared by the matching engine, the account and the server."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

ZERO = Decimal(0)
CENT = Decimal("0.01")
TERMINAL = frozenset({"filled", "canceled", "expired", "replaced", "rejected"})
ORDER_TYPES = frozenset({"market", "limit", "stop", "stop_limit", "trailing_stop"})
TIFS = frozenset({"day", "gtc", "opg", "cls", "ioc", "fok"})
MARKET_COLLAR = Decimal("1.025")  # market buys reserve buying power with a collar (section 4)
# Alpaca's activity ids carry the execution time in US/Eastern: "20190524113406977::…" is
# the fill at 2019-05-24T15:34:06.977Z in its documentation.
EASTERN = ZoneInfo("America/New_York")


class OrderError(Exception):
    """A request the venue refuses: HTTP status, Alpaca error code and message."""

    def __init__(self, status: int, code: int, message: str, **extra: object) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


Clock = Callable[[], datetime]
"""A book's time: the wall clock (the simulator) or a backtest's simulated clock."""


def wall_clock() -> datetime:
    """The default :data:`Clock`: now, in UTC."""
    return datetime.now(UTC)


@dataclass(slots=True)
class SimOrder:
    id: str
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    qty: Decimal | None
    notional: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    hwm: Decimal | None = None
    extended_hours: bool = False
    order_class: str = "simple"
    status: str = "new"
    filled_qty: Decimal = ZERO
    filled_avg_price: Decimal | None = None
    # Stamped by the book that builds the order, on its own clock (SimBook(clock=...)).
    created_at: datetime = field(kw_only=True)
    updated_at: datetime = field(kw_only=True)
    submitted_at: datetime = field(kw_only=True)
    filled_at: datetime | None = None
    canceled_at: datetime | None = None
    expired_at: datetime | None = None
    failed_at: datetime | None = None
    replaced_at: datetime | None = None
    replaced_by: str | None = None
    replaces: str | None = None
    asset_id: str = ""
    legs: list[str] = field(default_factory=list)
    parent_id: str | None = None
    triggered: bool = False
    # Options (issue 24): shares per contract (1 for a share or a coin), the order's
    # position_intent (echoed when set), a multi-leg leg's ratio to its parent's qty.
    multiplier: Decimal = Decimal(1)
    position_intent: str | None = None
    ratio_qty: Decimal | None = None

    @property
    def is_open(self) -> bool:
        return self.status not in TERMINAL and self.status != "held"

    @property
    def remaining(self) -> Decimal:
        if self.qty is None:
            return ZERO
        return self.qty - self.filled_qty

    def touch(self, at: datetime) -> None:
        self.updated_at = at


@dataclass(slots=True, frozen=True)
class Execution:
    """One trade_updates event to publish: ``event`` on ``order`` (with a fill, if any)."""

    event: str
    order: SimOrder
    qty: Decimal | None = None
    price: Decimal | None = None
    position_qty: Decimal | None = None
    execution_id: str | None = None
    # The order's state when the event happened; the order object itself keeps changing.
    status: str = ""
    filled_qty: Decimal = ZERO
    filled_avg_price: Decimal | None = None
    at: datetime = field(kw_only=True)  # the event's time on the book's clock

    def __post_init__(self) -> None:
        if not self.status:
            object.__setattr__(self, "status", self.order.status)
            object.__setattr__(self, "filled_qty", self.order.filled_qty)
            object.__setattr__(self, "filled_avg_price", self.order.filled_avg_price)


@dataclass(slots=True, frozen=True)
class FillRecord:
    """One execution as the account activities report it (activity_type ``FILL``).

    ``id`` is Alpaca's ``<execution time, US/Eastern, to the ms>::<execution id>``; the
    simulator's times strictly increase, so the book's list of fills is in time order.
    """

    id: str
    transaction_time: datetime
    type: str  # "fill" | "partial_fill"
    price: Decimal
    qty: Decimal
    side: str  # "buy" | "sell" | "sell_short"
    symbol: str
    leaves_qty: Decimal
    order_id: str
    cum_qty: Decimal
    order_status: str
    execution_id: str


def activity_id(at: datetime, execution_id: str) -> str:
    local = at.astimezone(EASTERN)
    return f"{local:%Y%m%d%H%M%S}{local.microsecond // 1000:03d}::{execution_id}"


@dataclass(slots=True)
class SimPosition:
    symbol: str
    qty: Decimal = ZERO
    avg_entry_price: Decimal = ZERO  # per share (an option's premium, not x multiplier)
    asset_id: str = ""
    multiplier: Decimal = Decimal(1)  # an option's shares per contract


def shifted(pos: SimPosition, signed: Decimal, price: Decimal) -> Decimal:
    """The qty of ``pos`` after ``signed`` more at ``price`` (per share), with its average
    entry price updated: it only changes on an increase, or past zero (a flip)."""
    new_qty = pos.qty + signed
    if pos.qty == 0 or (pos.qty > 0) != (signed > 0):
        # Opening, reducing or flipping: the entry price only changes past zero.
        if new_qty != 0 and (pos.qty == 0 or (new_qty > 0) != (pos.qty > 0)):
            pos.avg_entry_price = price
    else:
        pos.avg_entry_price = (pos.avg_entry_price * pos.qty + price * signed) / new_qty
    return new_qty


def asset_id_for(symbol: str) -> str:
    """Stable UUID per symbol, so repeated runs report the same asset ids."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"tradewire-sim/{symbol}"))


def _dec(value: object, name: str) -> Decimal | None:
    # Alpaca accepts numbers or strings for numeric fields; 10.0 from alpaca-py means 10.
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise OrderError(400, 40010000, f"invalid {name}")
    try:
        out = Decimal(str(value))
    except ArithmeticError:
        raise OrderError(422, 40010001, f"invalid {name}: {value!r}") from None
    if not out.is_finite():
        raise OrderError(422, 40010001, f"invalid {name}: {value!r}")
    return out


def _check_tick(price: Decimal | None, name: str) -> None:
    if price is None:
        return
    if price <= 0:
        raise OrderError(422, 40010001, f"{name} must be > 0")
    places = 2 if price >= 1 else 4
    if price != price.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN):
        raise OrderError(
            422,
            42210000,
            f"invalid {name} {price}. sub-penny increment does not fulfill minimum pricing criteria",
        )
