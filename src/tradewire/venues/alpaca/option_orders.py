"""Sans-I/O validation of Alpaca options orders, single-leg and multi-leg (``mleg``).

The rules, with their sources (reference/crypto-options.md 3a):

- single-leg: types ``market``, ``limit``, ``stop``, ``stop_limit``; time in force ``day`` and
  ``gtc`` (Alpaca's changelog 2026-08-28 documents gtc; alpaca-py's enum docstring saying
  "day" is stale); whole contracts, never a notional (alpaca-py: notional and fractional
  quantities are for stock market orders only); ``position_intent`` one of buy_to_open,
  buy_to_close, sell_to_open, sell_to_close, and agreeing with the side;
- ``mleg`` (alpaca-py ``requests.py``): ``qty`` required, 2 to 4 legs with unique symbols,
  each ``{symbol, ratio_qty, side?, position_intent?}`` with a side or an intent; type
  ``market`` or ``limit``; the limit price positive for a debit and negative for a credit.
  UNCONFIRMED: whether a zero (even) limit is accepted; alpaca-py does not check the sign, so
  it is sent and the venue decides. Every leg must be an option contract here: the reference
  lists mleg under the options classes only. Legs are whole contracts (``ratio_qty``
  integers): a fractional ratio has no meaning for contracts.
- Prices: cents. UNCONFIRMED: Alpaca's options increments (exchanges quote some classes in
  nickels above $3); alpaca-py validates none, so the venue's answer decides the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from tradewire.engine.instruments import Instrument, InstrumentError, asset_class_of, instrument_key
from tradewire.engine.multileg import INTENT_SIDES, MAX_LEGS, MIN_LEGS, Leg
from tradewire.venues.alpaca.errors import OrderValidationError
from tradewire.venues.alpaca.order_body import MultiLegRequest, OptionLeg, OrderRequest
from tradewire.venues.alpaca.requests import MAX_CLIENT_ORDER_ID, Number, new_client_order_id

__all__ = [
    "INTENT_SIDES",
    "MLEG_ORDER_TYPES",
    "OPTION_ORDER_TYPES",
    "OPTION_TIFS",
    "build_mleg_order",
    "build_option_order",
]

OPTION_ORDER_TYPES: frozenset[str] = frozenset({"market", "limit", "stop", "stop_limit"})
MLEG_ORDER_TYPES: frozenset[str] = frozenset({"market", "limit"})
OPTION_TIFS: frozenset[str] = frozenset({"day", "gtc"})
_CENT = Decimal("0.01")


def _cid(client_order_id: str | None) -> str:
    cid = client_order_id if client_order_id is not None else new_client_order_id()
    if not cid or len(cid) > MAX_CLIENT_ORDER_ID:
        raise OrderValidationError(f"client_order_id must be 1..{MAX_CLIENT_ORDER_ID} characters")
    return cid


def _contracts(value: Number | None, name: str) -> str:
    if value is None:
        raise OrderValidationError(f"{name} is required for options orders (whole contracts)")
    if isinstance(value, bool):
        raise OrderValidationError(f"{name} must be a number")
    try:
        dec = Decimal(str(value))
    except ArithmeticError:
        raise OrderValidationError(f"{name} {value!r} is not a number") from None
    if not dec.is_finite() or dec <= 0 or dec != dec.to_integral_value():
        raise OrderValidationError(f"{name} must be a whole number of contracts > 0, got {value!r}")
    return str(int(dec))


def _side_and_intent(side: str | None, intent: str | None, where: str) -> None:
    if intent is not None and intent not in INTENT_SIDES:
        raise OrderValidationError(
            f"{where}position_intent must be one of {sorted(INTENT_SIDES)}, got {intent!r}"
        )
    if side is not None and side not in ("buy", "sell"):
        raise OrderValidationError(f"{where}side must be 'buy' or 'sell', got {side!r}")
    if side is None and intent is None:
        raise OrderValidationError(f"{where}needs a side or a position_intent")
    if side is not None and intent is not None and INTENT_SIDES[intent] != side:
        raise OrderValidationError(f"{where}side {side} contradicts position_intent {intent}")


def _option_key(symbol: str, where: str = "") -> str:
    try:
        key = instrument_key(symbol)
    except InstrumentError as exc:
        raise OrderValidationError(f"{where}{exc}") from None
    if asset_class_of(key) != "us_option":
        raise OrderValidationError(f"{where}{symbol[:40]!r} is not an option contract")
    return key


def build_option_order(
    instrument: Instrument | str,
    *,
    side: str,
    order_type: str = "market",
    time_in_force: str = "day",
    qty: Number | None = None,
    notional: Number | None = None,
    limit_price: Number | None = None,
    stop_price: Number | None = None,
    client_order_id: str | None = None,
    position_intent: str | None = None,
    extended_hours: bool = False,
) -> OrderRequest:
    """A single-leg options order, validated as Alpaca would before a byte is sent.

    Raises:
        OrderValidationError: one message naming the offending field and value.
    """
    key = instrument.key if isinstance(instrument, Instrument) else _option_key(instrument)
    _side_and_intent(side, position_intent, "")
    if order_type not in OPTION_ORDER_TYPES:
        raise OrderValidationError(
            f"order_type must be one of {sorted(OPTION_ORDER_TYPES)} for options, got {order_type!r}"
        )
    if time_in_force not in OPTION_TIFS:
        raise OrderValidationError(
            f"time_in_force must be one of {sorted(OPTION_TIFS)} for options, got {time_in_force!r}"
        )
    if notional is not None:
        raise OrderValidationError("options orders take qty in contracts, not a notional")
    if extended_hours:
        raise OrderValidationError("options trade in the regular session only (extended_hours)")
    needs_limit = order_type in ("limit", "stop_limit")
    needs_stop = order_type in ("stop", "stop_limit")
    if needs_limit != (limit_price is not None):
        raise OrderValidationError(
            f"limit_price is {'required' if needs_limit else 'not allowed'} for {order_type} orders"
        )
    if needs_stop != (stop_price is not None):
        raise OrderValidationError(
            f"stop_price is {'required' if needs_stop else 'not allowed'} for {order_type} orders"
        )
    return OrderRequest(
        symbol=key,
        side=side,
        type=order_type,
        time_in_force=time_in_force,
        client_order_id=_cid(client_order_id),
        qty=_contracts(qty, "qty"),
        limit_price=_cents(limit_price, "limit_price") if limit_price is not None else None,
        stop_price=_cents(stop_price, "stop_price") if stop_price is not None else None,
        position_intent=position_intent,
    )


def _cents(value: Number, name: str, *, signed: bool = False) -> str:
    """An options price in cents (below $1 too: no stock sub-penny tick), ``signed`` for a
    multi-leg net (debit > 0, credit < 0); a float artefact is snapped, a real fraction of a
    cent refused."""
    try:
        dec = Decimal(str(value))
    except ArithmeticError:
        raise OrderValidationError(f"{name} {value!r} is not a number") from None
    if isinstance(value, bool) or not dec.is_finite():
        raise OrderValidationError(f"{name} {value!r} is not a number")
    if not signed and dec <= 0:
        raise OrderValidationError(f"{name} must be > 0, got {value!r}")
    snapped = dec.quantize(_CENT)
    if abs(snapped - dec) > Decimal("1e-9"):
        raise OrderValidationError(f"{name} {value} is not in whole cents")
    return str(snapped)


def build_mleg_order(
    legs: Sequence[Leg],
    *,
    qty: Number,
    order_type: str = "limit",
    time_in_force: str = "day",
    limit_price: Number | None = None,
    client_order_id: str | None = None,
) -> MultiLegRequest:
    """A multi-leg options order (``order_class: mleg``), validated as alpaca-py and Alpaca
    would: 2–4 legs with unique option symbols, whole ratios, a side or an intent each,
    ``market`` or ``limit``, a signed limit (positive for a debit, negative for a credit).

    Raises:
        OrderValidationError: one message naming the offending field, leg and value.
    """
    if not MIN_LEGS <= len(legs) <= MAX_LEGS:
        raise OrderValidationError(
            f"an mleg order has {MIN_LEGS} to {MAX_LEGS} legs, got {len(legs)}"
        )
    body_legs: list[OptionLeg] = []
    seen: set[str] = set()
    for n, leg in enumerate(legs, 1):
        where = f"leg {n}: "
        key = _option_key(leg.symbol, where)
        if key in seen:
            raise OrderValidationError(f"{where}{key} repeats: every leg needs its own symbol")
        seen.add(key)
        if isinstance(leg.ratio, bool) or not isinstance(leg.ratio, int) or leg.ratio < 1:
            raise OrderValidationError(
                f"{where}ratio must be a whole number >= 1, got {leg.ratio!r}"
            )
        _side_and_intent(leg.side, leg.intent, where)
        body_legs.append(OptionLeg(key, str(leg.ratio), leg.side, leg.intent))
    if order_type not in MLEG_ORDER_TYPES:
        raise OrderValidationError(
            f"mleg orders are market or limit only, got order_type {order_type!r}"
        )
    if time_in_force not in OPTION_TIFS:
        raise OrderValidationError(
            f"time_in_force must be one of {sorted(OPTION_TIFS)} for options, got {time_in_force!r}"
        )
    if (order_type == "limit") != (limit_price is not None):
        raise OrderValidationError(
            f"limit_price is {'required' if order_type == 'limit' else 'not allowed'} "
            f"for {order_type} mleg orders"
        )
    return MultiLegRequest(
        type=order_type,
        time_in_force=time_in_force,
        client_order_id=_cid(client_order_id),
        qty=_contracts(qty, "qty"),
        legs=tuple(body_legs),
        order_class="mleg",
        limit_price=_cents(limit_price, "limit_price", signed=True)
        if limit_price is not None
        else None,
    )
