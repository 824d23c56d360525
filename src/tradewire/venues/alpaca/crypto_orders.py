"""Sans-I/O validation of Alpaca crypto orders: instrument + intent -> ``POST /v2/orders`` body.

Why not :func:`tradewire.venues.alpaca.requests.build_order`: its rules are the equity rules
(``day`` TIF, cent ticks, notional only for market ``day`` orders), and every one of them is
wrong for crypto; a crypto order then either was refused locally or, worse, was sent and
rejected by the broker (issue 23). The crypto rules, with their sources:

- order types ``market``, ``limit``, ``stop_limit``; order class simple only
  (reference/crypto-options.md 3a; alpaca-py ``enums.py``);
- time in force ``gtc`` and ``ioc`` only (docs "crypto orders", alpaca-py ``TimeInForce``
  docstring); an old support page also listed ``fok``, the current docs and SDK do not;
- ``qty`` XOR ``notional`` (alpaca-py ``OrderRequest.root_validator``); ``qty`` fractional at
  the asset's ``min_trade_increment`` and at least its ``min_order_size``; prices at its
  ``price_increment`` (the asset, e.g. BTC/USD ``"0.0001"``, ``"0.0001"``, ``"1"``);
- no shorting: the asset says ``shortable: false`` and Alpaca crypto is spot, cash only.

Unconfirmed, following alpaca-py where the docs are silent: notional is accepted on all three
crypto order types (alpaca-py restricts notional to market orders "for stocks" only and
validates nothing more); Alpaca documents no notional increment for crypto, so a notional
keeps the stock rule's at most 9 decimals (refused beyond, never rounded); a notional below
the minimum order size cannot be checked without a price and is left to the broker.

Decimals go out as exact strings formatted by :mod:`tradewire.engine.instruments`, so the
request body carries no float artefact (``0.1 + 0.2`` is sent as ``"0.3"``).
"""

from __future__ import annotations

from decimal import Decimal

from tradewire.engine.instruments import (
    Instrument,
    InstrumentError,
    Number,
    format_price,
    format_qty,
    to_decimal,
)
from tradewire.venues.alpaca.errors import OrderValidationError
from tradewire.venues.alpaca.order_body import OrderRequest
from tradewire.venues.alpaca.requests import MAX_CLIENT_ORDER_ID, new_client_order_id

__all__ = ["CRYPTO_ORDER_TYPES", "CRYPTO_TIFS", "build_crypto_order"]

CRYPTO_ORDER_TYPES: frozenset[str] = frozenset({"market", "limit", "stop_limit"})
CRYPTO_TIFS: frozenset[str] = frozenset({"gtc", "ioc"})
_NOTIONAL_PLACES = 9


def build_crypto_order(
    instrument: Instrument,
    *,
    side: str,
    order_type: str = "market",
    time_in_force: str = "gtc",
    qty: Number | None = None,
    notional: Number | None = None,
    limit_price: Number | None = None,
    stop_price: Number | None = None,
    client_order_id: str | None = None,
    held: Number = 0,
) -> OrderRequest:
    """Validate a crypto order the way Alpaca would, before any byte is sent.

    ``held`` is the quantity of the asset held now (0 if none): a sell beyond it would be a
    short, which crypto does not allow, so a sell without ``held`` is refused. The body names
    the pair in the order form ``BTC/USD`` whatever form the instrument came from.

    Raises:
        OrderValidationError: one message naming the offending field and value.
    """
    try:
        return _build(
            instrument,
            side=side,
            order_type=order_type,
            time_in_force=time_in_force,
            qty=qty,
            notional=notional,
            limit_price=limit_price,
            stop_price=stop_price,
            client_order_id=client_order_id,
            held=held,
        )
    except InstrumentError as exc:
        raise OrderValidationError(str(exc)) from None


def _build(
    instrument: Instrument,
    *,
    side: str,
    order_type: str,
    time_in_force: str,
    qty: Number | None,
    notional: Number | None,
    limit_price: Number | None,
    stop_price: Number | None,
    client_order_id: str | None,
    held: Number,
) -> OrderRequest:
    if instrument.asset_class != "crypto":
        raise OrderValidationError(f"{instrument.key} is not a crypto instrument")
    if side not in ("buy", "sell"):
        raise OrderValidationError(f"side must be 'buy' or 'sell', got {side!r}")
    if order_type not in CRYPTO_ORDER_TYPES:
        raise OrderValidationError(
            f"order_type must be one of {sorted(CRYPTO_ORDER_TYPES)} for crypto, got {order_type!r}"
        )
    if time_in_force not in CRYPTO_TIFS:
        raise OrderValidationError(
            f"time_in_force must be one of {sorted(CRYPTO_TIFS)} for crypto, got {time_in_force!r}"
        )
    if (qty is None) == (notional is None):
        raise OrderValidationError("give exactly one of qty and notional")
    needs_limit = order_type in ("limit", "stop_limit")
    needs_stop = order_type == "stop_limit"
    if needs_limit != (limit_price is not None):
        raise OrderValidationError(
            f"limit_price is {'required' if needs_limit else 'not allowed'} for {order_type} orders"
        )
    if needs_stop != (stop_price is not None):
        raise OrderValidationError(
            f"stop_price is {'required' if needs_stop else 'not allowed'} for {order_type} orders"
        )
    cid = client_order_id if client_order_id is not None else new_client_order_id()
    if not cid or len(cid) > MAX_CLIENT_ORDER_ID:
        raise OrderValidationError(f"client_order_id must be 1..{MAX_CLIENT_ORDER_ID} characters")
    qty_text = format_qty(instrument, qty) if qty is not None else None
    notional_text = _format_notional(notional) if notional is not None else None
    limit_text = (
        format_price(instrument, limit_price, "limit_price") if limit_price is not None else None
    )
    stop_text = (
        format_price(instrument, stop_price, "stop_price") if stop_price is not None else None
    )
    if side == "sell" and not instrument.shortable:
        _refuse_short(instrument, qty_text, notional_text, held)
    return OrderRequest(
        symbol=instrument.order_symbol,
        side=side,
        type=order_type,
        time_in_force=time_in_force,
        client_order_id=cid,
        qty=qty_text,
        notional=notional_text,
        limit_price=limit_text,
        stop_price=stop_text,
    )


def _format_notional(value: Number) -> str:
    dec = to_decimal(value, "notional")
    if dec != dec.quantize(Decimal(1).scaleb(-_NOTIONAL_PLACES)).normalize():
        raise OrderValidationError(f"notional {value} has more than {_NOTIONAL_PLACES} decimals")
    return format(dec.normalize(), "f")


def _held(value: Number) -> Decimal:
    # 0 (nothing held) is valid here, unlike a qty; a negative holding is no crypto position.
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) and value == 0:
        return Decimal(0)
    if isinstance(value, str) and value.strip() in ("0", "0.0", ""):
        return Decimal(0)
    return to_decimal(value, "held").normalize()


def _refuse_short(
    instrument: Instrument, qty: str | None, notional: str | None, held_raw: Number
) -> None:
    held = _held(held_raw)
    if qty is not None and Decimal(qty) <= held:
        return
    if notional is not None and held > 0:
        return  # a notional beyond the holding needs a price to detect: the broker's call
    what = f"qty {qty}" if qty is not None else f"notional {notional}"
    raise OrderValidationError(
        f"crypto cannot be sold short: sell {what} of {instrument.key} with {held:f} held"
    )
