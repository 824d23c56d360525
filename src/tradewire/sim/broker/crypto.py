"""Alpaca's crypto rules on the simulated broker, sans-I/O (issue 23).

What the real venue does (reference/crypto-options.md 3a; payloads in
tests/fixtures/alpaca/crypto), and the source of each answer:

- Orders name the pair ``BTC/USD``; the legacy ``BTCUSD`` is still accepted, and the
  simulator books either as ``BTC/USD`` (UNCONFIRMED whether Alpaca echoes a legacy symbol back
  unchanged; the order form is what its current docs and examples show). Positions and
  activities name it ``BTCUSD``, with ``asset_class: crypto``.
- Order types market, limit, stop_limit; class simple; time in force gtc and ioc only. A
  ``day`` (or any other) TIF is answered 422 ``{"code": 42210000, "message": "invalid crypto
  time_in_force"}``: the real answer, quoted in alpaca-py PR #681 (2026-07) and apca #27.
- ``qty`` (fractional, a multiple of the asset's ``min_trade_increment`` and at least its
  ``min_order_size``) or ``notional``, never both; prices on its ``price_increment``.
- No shorting: crypto is spot and cash only (``shortable: false``); a sell beyond what is
  held (less what open sells already hold) is refused.

UNCONFIRMED, no primary source found; shapes follow alpaca-py (which only reads ``code`` and
``message``) and the simulator's equity answers: the wording and codes for an order type other
than market/limit/stop_limit (422 40010001), a qty below the minimum or off the increment
(422 40010001), a price off the increment (422 42210000, as the equity sub-penny answer), a
sell beyond the holding (403 40310000 "insufficient balance for BTC (requested: …, available:
…)"), and the increments of every pair but BTC/USD (the fixture's): the others get the
simulator's defaults below, not Alpaca's values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from tradewire.engine.instruments import InstrumentError, instrument_key
from tradewire.sim.broker.orders import (
    EASTERN,
    OrderError,
    SimOrder,
    SimPosition,
    _dec,
    asset_id_for,
)

CRYPTO_ORDER_TYPES = frozenset({"market", "limit", "stop_limit"})
CRYPTO_TIFS = frozenset({"gtc", "ioc"})
CRYPTO_EXCHANGE = "CRYPTO"  # Alpaca's exchange enum since 2026-07-06 (older payloads: FTXU)

# (min_order_size, min_trade_increment, price_increment). BTC/USD: the real asset
# (tests/fixtures/alpaca/crypto/crypto__assets__1.json); the rest are UNCONFIRMED defaults.
_INCREMENTS: dict[str, tuple[str, str, str]] = {
    "BTC/USD": ("0.0001", "0.0001", "1"),
    "ETH/USD": ("0.001", "0.001", "0.1"),
}
_DEFAULT_INCREMENTS = ("0.0001", "0.0001", "0.0001")
_FEE_PLACES = Decimal("0.000000001")


@dataclass(frozen=True, slots=True)
class CryptoAsset:
    """One crypto pair the simulated venue lists, as ``GET /v2/assets/BTC/USD`` shows it."""

    symbol: str  # BTC/USD
    min_order_size: Decimal
    min_trade_increment: Decimal
    price_increment: Decimal

    @property
    def base(self) -> str:
        return self.symbol.partition("/")[0]

    @property
    def position_symbol(self) -> str:
        """``BTCUSD``: how positions and activities name the pair."""
        return self.symbol.replace("/", "")

    @property
    def asset_id(self) -> str:
        return asset_id_for(self.symbol)


def crypto_assets(symbols: Iterable[str]) -> dict[str, CryptoAsset]:
    """The simulator's crypto assets by pair key (``BTC/USD``), from any symbol forms."""
    out: dict[str, CryptoAsset] = {}
    for raw in symbols:
        key = instrument_key(raw, "crypto")
        size, step, tick = _INCREMENTS.get(key, _DEFAULT_INCREMENTS)
        out[key] = CryptoAsset(key, Decimal(size), Decimal(step), Decimal(tick))
    return out


def is_crypto(symbol: str) -> bool:
    """A book symbol is a pair (``BTC/USD``) or an equity ticker, which never has a ``/``."""
    return "/" in symbol


def find(symbol: str, assets: Mapping[str, CryptoAsset]) -> CryptoAsset | None:
    """The listed pair ``symbol`` names in any form (``BTC/USD``, ``BTCUSD``), else None."""
    if not assets:
        return None
    try:
        key = instrument_key(symbol)
    except InstrumentError:
        return None
    asset = assets.get(key)
    if asset is None and "/" not in symbol:
        try:
            asset = assets.get(instrument_key(symbol, "crypto"))  # a short bare form: SOLUSD
        except InstrumentError:
            return None
    return asset


def _on_step(value: Decimal, step: Decimal) -> bool:
    return value % step == 0


def build_order(
    body: Mapping[str, object],
    asset: CryptoAsset,
    *,
    client_order_id: str,
    new_id: Callable[[], str],
    at: datetime,
    held: Decimal = Decimal(0),
) -> SimOrder:
    """Validate a ``POST /v2/orders`` body for a crypto pair and build the order (not booked).

    Raises:
        OrderError: Alpaca's status, code and message (see the module docstring).
    """
    side = body.get("side")
    otype = body.get("type") or body.get("order_type")
    tif = body.get("time_in_force")
    if side not in ("buy", "sell"):
        raise OrderError(422, 40010001, "side must be buy or sell")
    if otype not in CRYPTO_ORDER_TYPES:
        raise OrderError(422, 40010001, f"invalid order type for crypto orders: {otype!r}")
    if tif not in CRYPTO_TIFS:
        raise OrderError(422, 42210000, "invalid crypto time_in_force")
    order_class = str(body.get("order_class") or "simple")
    if order_class != "simple":
        raise OrderError(422, 40010001, f"invalid order_class for crypto orders: {order_class!r}")
    qty = _dec(body.get("qty"), "qty")
    notional = _dec(body.get("notional"), "notional")
    if (qty is None) == (notional is None):
        raise OrderError(422, 40010001, "qty or notional is required (exactly one)")
    # Selling the whole holding is always allowed: fees paid in the coin leave a holding off
    # the increment (0.01 bought, 0.009975 held), which must still be sellable (UNCONFIRMED).
    if qty is not None and not (side == "sell" and qty == held):
        _check_qty(qty, asset)
    if notional is not None and notional <= 0:
        raise OrderError(422, 40010001, "notional must be > 0")
    limit = _dec(body.get("limit_price"), "limit_price")
    stop = _dec(body.get("stop_price"), "stop_price")
    if otype in ("limit", "stop_limit") and limit is None:
        raise OrderError(422, 40010001, "limit_price is required for limit orders")
    if otype == "stop_limit" and stop is None:
        raise OrderError(422, 40010001, "stop_price is required for stop orders")
    _check_prices(limit, stop, asset)
    return SimOrder(
        id=new_id(),
        client_order_id=client_order_id,
        symbol=asset.symbol,
        side=str(side),
        type=str(otype),
        time_in_force=str(tif),
        qty=qty,
        notional=notional,
        limit_price=limit,
        stop_price=stop,
        asset_id=asset.asset_id,
        created_at=at,
        updated_at=at,
        submitted_at=at,
    )


def check_replacement(
    asset: CryptoAsset,
    qty: Decimal | None,
    limit: Decimal | None,
    stop: Decimal | None,
    tif: object,
) -> None:
    """A ``PATCH /v2/orders/{id}`` of a crypto order: the pair's increments and TIFs.

    UNCONFIRMED: Alpaca documents no crypto-specific replace rule; these are its order rules.
    alpaca-py's ``ReplaceOrderRequest`` types ``qty`` as an integer, so a fractional new qty
    can only be sent as a raw body.
    """
    if tif is not None and tif not in CRYPTO_TIFS:
        raise OrderError(422, 42210000, "invalid crypto time_in_force")
    if qty is not None:
        _check_qty(qty, asset)
    _check_prices(limit, stop, asset)


def _check_qty(qty: Decimal, asset: CryptoAsset) -> None:
    if qty < asset.min_order_size:
        raise OrderError(422, 40010001, f"qty must be >= {asset.min_order_size} for {asset.symbol}")
    if not _on_step(qty, asset.min_trade_increment):
        raise OrderError(
            422,
            40010001,
            f"qty must be a multiple of {asset.min_trade_increment} for {asset.symbol}",
        )


def _check_prices(limit: Decimal | None, stop: Decimal | None, asset: CryptoAsset) -> None:
    for name, price in (("limit_price", limit), ("stop_price", stop)):
        if price is None:
            continue
        if price <= 0:
            raise OrderError(422, 40010001, f"{name} must be > 0")
        if not _on_step(price, asset.price_increment):
            raise OrderError(
                422,
                42210000,
                f"invalid {name} {price}: must be a multiple of {asset.price_increment}",
            )


def close_qty(asset: CryptoAsset, held: Decimal, percentage: Decimal) -> Decimal:
    """``DELETE /v2/positions/BTCUSD?percentage=P``: that share of the holding, rounded down
    to the pair's quantity increment (an order off the increment would be refused)."""
    return (held * percentage / 100).quantize(asset.min_trade_increment, rounding=ROUND_DOWN)


@dataclass(frozen=True, slots=True)
class FeeRecord:
    """One crypto fee, as the ``CFEE`` activity reports it: ``qty`` of the coin on a buy,
    ``usd`` on a sell (the other is 0), at the fill's ``price``."""

    id: str
    symbol: str  # BTC/USD
    qty: Decimal
    usd: Decimal
    price: Decimal
    at: datetime


def fee(
    order: SimOrder, qty: Decimal, price: Decimal, rate: Decimal, at: datetime, execution_id: str
) -> FeeRecord:
    """The fee of one crypto fill, charged in the asset received (reference 3a): the coin on a
    buy, dollars on a sell, to 9 decimals.

    UNCONFIRMED: Alpaca posts CFEE/FEE activities at the end of the day; the simulator
    deducts the fee at the fill and posts the activity at once, one per fill (an engine can
    reconcile each as it happens). The average entry price stays the fill price.
    """
    amount = qty * rate if order.side == "buy" else qty * price * rate
    amount = amount.quantize(_FEE_PLACES)
    day = at.astimezone(EASTERN).date()
    return FeeRecord(
        id=f"{day:%Y%m%d}000000000::{execution_id}",
        symbol=order.symbol,
        qty=amount if order.side == "buy" else Decimal(0),
        usd=amount if order.side == "sell" else Decimal(0),
        price=price,
        at=at,
    )


def refuse_short(
    asset: CryptoAsset,
    order: SimOrder,
    positions: Mapping[str, SimPosition],
    live: Iterable[SimOrder],
) -> None:
    """Refuse a sell of more than is held, less what open sells of the pair already hold
    (``live``: the pair's working orders)."""
    pos = positions.get(asset.symbol)
    held = pos.qty if pos is not None else Decimal(0)
    selling = sum((o.remaining for o in live if o.side == "sell" and o.is_open), Decimal(0))
    available = held - selling
    # A notional sell is priced at fill time: here it only needs something held.
    wanted = order.qty if order.qty is not None else Decimal(0)
    if wanted > available or available <= 0:
        raise OrderError(
            403,
            40310000,
            f"insufficient balance for {asset.base} (requested: {wanted.normalize():f}, "
            f"available: {max(available, Decimal(0)).normalize():f})",
        )
