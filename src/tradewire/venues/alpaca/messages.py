"""Alpaca Trading API v2 objects as msgspec Structs (reference/alpaca.md sections 5, 8, 11).

Decimals are ``Decimal`` (the wire sends strings to keep precision; numbers are accepted
too). Timestamps stay as the RFC 3339 strings the venue sent: parsing them costs more than
the rest of a response and few callers need a ``datetime``; :func:`parse_time` is there for
those who do. Unknown keys are ignored, so a new field upstream never breaks a client.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Generic, Protocol, TypeVar

import msgspec
from msgspec import Struct

log = logging.getLogger(__name__)
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

TERMINAL_STATUSES = frozenset({"filled", "canceled", "expired", "replaced", "rejected"})


def parse_time(value: str | None) -> datetime | None:
    """RFC 3339 with up to nanoseconds (``…04.981350886-04:00``) → aware ``datetime`` (µs)."""
    if not value:
        return None
    text = value.replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:
        n = 0
        while n < len(rest) and rest[n].isdigit():
            n += 1
        digits, tz = rest[:n], rest[n:]
        text = f"{head}.{digits[:6]:0<6}{tz}"
    return datetime.fromisoformat(text)


class Order(Struct, frozen=True, gc=False):
    """An order as the venue reports it. ``legs`` holds bracket/OCO/OTO children."""

    id: str
    client_order_id: str
    status: str
    symbol: str | None = None
    side: str | None = None
    type: str | None = None
    order_type: str | None = None
    time_in_force: str | None = None
    order_class: str | None = None
    qty: Decimal | None = None
    notional: Decimal | None = None
    filled_qty: Decimal = Decimal(0)
    filled_avg_price: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    hwm: Decimal | None = None
    extended_hours: bool = False
    created_at: str | None = None
    updated_at: str | None = None
    submitted_at: str | None = None
    filled_at: str | None = None
    expired_at: str | None = None
    expires_at: str | None = None
    canceled_at: str | None = None
    failed_at: str | None = None
    replaced_at: str | None = None
    replaced_by: str | None = None
    replaces: str | None = None
    asset_id: str | None = None
    asset_class: str | None = None
    position_intent: str | None = None
    ratio_qty: Decimal | None = None  # an mleg leg's units per unit of its parent
    legs: list[Order] | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class Account(Struct, frozen=True, gc=False):
    id: str
    account_number: str
    status: str
    currency: str = "USD"
    cash: Decimal = Decimal(0)
    buying_power: Decimal = Decimal(0)
    regt_buying_power: Decimal | None = None
    non_marginable_buying_power: Decimal | None = None
    equity: Decimal = Decimal(0)
    last_equity: Decimal | None = None
    portfolio_value: Decimal | None = None
    long_market_value: Decimal | None = None
    short_market_value: Decimal | None = None
    multiplier: Decimal | None = None
    daytrade_count: int | None = None
    shorting_enabled: bool = False
    trading_blocked: bool = False
    account_blocked: bool = False
    trade_suspended_by_user: bool = False
    pattern_day_trader: bool | None = None
    created_at: str | None = None
    options_trading_level: int | None = None  # 0 none, 1 covered, 2 long, 3 spreads
    options_approved_level: int | None = None
    options_buying_power: Decimal | None = None


class Position(Struct, frozen=True, gc=False):
    symbol: str
    qty: Decimal
    avg_entry_price: Decimal
    side: str
    asset_id: str | None = None
    exchange: str | None = None
    asset_class: str | None = None
    qty_available: Decimal | None = None
    market_value: Decimal | None = None
    cost_basis: Decimal | None = None
    unrealized_pl: Decimal | None = None
    unrealized_plpc: Decimal | None = None
    current_price: Decimal | None = None
    lastday_price: Decimal | None = None
    change_today: Decimal | None = None


class Clock(Struct, frozen=True, gc=False):
    timestamp: str
    is_open: bool
    next_open: str
    next_close: str


class OptionContractRecord(Struct, frozen=True, gc=False):
    """``GET /v2/options/contracts/{symbol}`` (alpaca-py ``OptionContract``): what the
    engine reads of a contract; its multiplier sizes every money figure (issue 24)."""

    id: str
    symbol: str
    status: str | None = None
    tradable: bool = True
    expiration_date: str | None = None
    underlying_symbol: str | None = None
    type: str | None = None
    style: str | None = None
    strike_price: Decimal | None = None
    multiplier: Decimal | None = None
    size: Decimal | None = None


class Asset(Struct, frozen=True, gc=False, rename={"asset_class": "class"}):
    id: str
    symbol: str
    asset_class: str
    exchange: str
    status: str
    tradable: bool = False
    marginable: bool = False
    shortable: bool = False
    easy_to_borrow: bool = False
    fractionable: bool = False
    name: str | None = None
    # crypto only: the increments orders must respect (strings, as Alpaca sends them)
    min_order_size: str | None = None
    min_trade_increment: str | None = None
    price_increment: str | None = None


class CancelResult(Struct, frozen=True, gc=False):
    """One item of the 207 answer to ``DELETE /v2/orders``."""

    id: str
    status: int


class ClosePositionResult(Struct, frozen=True, gc=False):
    """One item of the 207 answer to ``DELETE /v2/positions``; ``body`` is an order or an error."""

    symbol: str
    status: int
    body: msgspec.Raw = msgspec.Raw(b"null")

    @property
    def order(self) -> Order | None:
        if self.status != 200 or bytes(self.body) == b"null":
            return None
        return ORDER_DECODER.decode(self.body)


class TradeUpdate(Struct, frozen=True, gc=False):
    """One trade_updates event. ``price``/``qty``/``position_qty`` are set on fills only."""

    event: str
    order: Order
    timestamp: str | None = None
    execution_id: str | None = None
    price: Decimal | None = None
    qty: Decimal | None = None
    position_qty: Decimal | None = None
    # Why a rejection or a refused cancel/replace happened, when the venue says (not in
    # alpaca-py's model: read when present, never required).
    reason: str | None = None


class FillActivity(Struct, frozen=True, gc=False):
    """One execution from ``GET /v2/account/activities/FILL`` (activity_type ``FILL``).

    ``id`` is ``<execution time>::<uuid>`` and is the ``page_token`` for the next page;
    ``type`` is ``fill`` or ``partial_fill``; ``side`` is ``buy``, ``sell`` or ``sell_short``.
    """

    id: str
    transaction_time: str
    type: str
    price: Decimal
    qty: Decimal
    side: str
    symbol: str
    order_id: str
    activity_type: str = "FILL"
    leaves_qty: Decimal = Decimal(0)
    cum_qty: Decimal | None = None
    order_status: str | None = None


class FeeActivity(Struct, frozen=True, gc=False):
    """One fee from ``GET /v2/account/activities/CFEE,FEE`` (a non-trade activity).

    As tests/fixtures/alpaca/crypto/crypto__activities__1.json: a crypto fee (``CFEE``,
    "Coin Pair Transaction Fee") charged in the coin is a negative ``qty`` of the asset with
    ``net_amount`` 0; one charged in dollars (or a ``FEE``) a negative ``net_amount``.
    ``symbol`` names a pair as positions do (``ETHUSD``). No ``transaction_time``: Alpaca
    posts fees at the end of the day, dated ``date``.
    """

    id: str
    activity_type: str
    date: str | None = None
    net_amount: Decimal = Decimal(0)
    symbol: str | None = None
    qty: Decimal | None = None
    price: Decimal | None = None
    description: str | None = None
    status: str | None = None


class StreamMessage(Struct, frozen=True, gc=False):
    """Envelope of every trade-stream frame: ``{"stream": ..., "data": {...}}``."""

    stream: str
    data: msgspec.Raw


class ErrorBody(Struct, frozen=True, gc=False):
    code: int | None = None
    message: str = ""


class Decodes(Protocol[T_co]):
    """What the REST client needs of a decoder: ``msgspec.json.Decoder`` or :class:`ListDecoder`."""

    def decode(self, buf: bytes, /) -> T_co: ...


class Page(list[T]):
    """A decoded list that remembers how many elements the venue sent (``received``).

    Pagination must compare what was *sent* with the page size: a page that lost one odd
    element to :class:`ListDecoder` is still a full page, and stopping there would end
    the walk early.
    """

    received: int = 0


def received(items: list[T]) -> int:
    """How many elements the venue sent for ``items`` (its length, unless some were refused)."""
    return items.received if isinstance(items, Page) else len(items)


class ListDecoder(Generic[T]):
    """Decodes a JSON array item by item: an element that does not fit is refused and
    counted, the rest are kept.

    One odd element (a new enum value, a null where a string was) once rejected a whole
    ``GET /v2/orders`` page, and with it the reconciliation that depends on the page. A
    body that is not a JSON array still fails whole (``msgspec.DecodeError``), as before.
    The warning (once per page) names the first error's path and type, never values.
    """

    def __init__(self, item: type[T], what: str) -> None:
        self._raw: msgspec.json.Decoder[list[msgspec.Raw]] = msgspec.json.Decoder(list[msgspec.Raw])
        self._item: msgspec.json.Decoder[T] = msgspec.json.Decoder(item)
        self.what = what
        self.refused = 0

    def __repr__(self) -> str:
        return f"ListDecoder({self.what!r}, refused={self.refused})"

    def decode(self, buf: bytes, /) -> Page[T]:
        raws = self._raw.decode(buf)
        out: Page[T] = Page()
        out.received = len(raws)
        first: str | None = None
        decode = self._item.decode
        for raw in raws:
            try:
                out.append(decode(raw))
            except msgspec.ValidationError as exc:
                first = first or str(exc)
        bad = len(raws) - len(out)
        if bad:
            self.refused += bad
            log.warning("alpaca: refused %d of %d %s: %s", bad, len(raws), self.what, first)
        return out


ORDER_DECODER = msgspec.json.Decoder(Order)
ORDERS_DECODER = ListDecoder(Order, "orders")
ACCOUNT_DECODER = msgspec.json.Decoder(Account)
POSITION_DECODER = msgspec.json.Decoder(Position)
POSITIONS_DECODER = ListDecoder(Position, "positions")
CLOCK_DECODER = msgspec.json.Decoder(Clock)
ASSET_DECODER = msgspec.json.Decoder(Asset)
OPTION_CONTRACT_DECODER = msgspec.json.Decoder(OptionContractRecord)
ASSETS_DECODER = ListDecoder(Asset, "assets")
CANCEL_RESULTS_DECODER = ListDecoder(CancelResult, "cancel results")
CLOSE_RESULTS_DECODER = ListDecoder(ClosePositionResult, "close results")
STREAM_DECODER = msgspec.json.Decoder(StreamMessage)
TRADE_UPDATE_DECODER = msgspec.json.Decoder(TradeUpdate)
ERROR_DECODER = msgspec.json.Decoder(ErrorBody)
FILL_ACTIVITIES_DECODER = ListDecoder(FillActivity, "fill activities")
FEE_ACTIVITIES_DECODER = ListDecoder(FeeActivity, "fee activities")
