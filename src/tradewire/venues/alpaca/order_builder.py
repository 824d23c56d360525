"""One request builder for every host's venue port: a stock order by the equity rules, a
crypto order by the crypto rules at its asset's increments. Sans-I/O.

Why one function: the inline node, the worker, the backtest and the test kit each named
``build_order`` as their port's ``build``, and ``build_order`` holds the equity rules (``day``,
cent ticks), so a crypto order was refused or mis-built in all four (issue 23). Now each host's
port says ``build = staticmethod(build_any)`` and the choice is made here once, by the key:
a ``/`` is a crypto pair (:func:`tradewire.engine.instruments.instrument_key`), anything else
a stock.

A crypto order needs its asset's increments. Hosts load them from Alpaca's assets into an
:class:`~tradewire.engine.instruments.InstrumentTable`; until they do, only ``BTC/USD`` is
known, with the increments of reference/crypto-options.md 3a (``min_order_size`` and
``min_trade_increment`` ``0.0001``, ``price_increment`` ``1``), and any other pair is refused
("unknown crypto asset X: load it first"): a guessed increment sends orders Alpaca rejects.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from tradewire.engine.instruments import Instrument, InstrumentTable
from tradewire.engine.multileg import Leg
from tradewire.engine.options import is_option_symbol
from tradewire.venues.alpaca.crypto_orders import build_crypto_order
from tradewire.venues.alpaca.errors import OrderValidationError
from tradewire.venues.alpaca.option_orders import build_mleg_order, build_option_order
from tradewire.venues.alpaca.order_body import AnyOrderRequest
from tradewire.venues.alpaca.requests import build_order

__all__ = ["BTC_USD", "DEFAULT_INSTRUMENTS", "build_any"]

BTC_USD = Instrument(
    key="BTC/USD",
    asset_class="crypto",
    price_increment=Decimal("1"),
    min_order_size=Decimal("0.0001"),
    qty_increment=Decimal("0.0001"),
    fractionable=True,
    shortable=False,
)
"""BTC/USD as Alpaca's asset describes it (reference/crypto-options.md 3a)."""

DEFAULT_INSTRUMENTS = InstrumentTable([BTC_USD])
"""The crypto instruments known before any are loaded from the broker."""


def build_any(
    *,
    symbol: str,
    side: str,
    order_type: str = "market",
    time_in_force: str = "day",
    qty: float | None = None,
    limit_price: float | None = None,
    stop_price: float | None = None,
    extended_hours: bool = False,
    client_order_id: str | None = None,
    order_class: str | None = None,
    take_profit: dict[str, float] | None = None,
    stop_loss: dict[str, float] | None = None,
    held: float | None = None,
    instruments: InstrumentTable | None = None,
    notional: float | None = None,
    legs: Sequence[Leg] | None = None,
) -> AnyOrderRequest:
    """The venue request for one order, by the rules of its asset class
    (:meth:`tradewire.engine.ports.VenuePort.build`'s keywords).

    ``held`` is the quantity of the asset held now, for crypto's no-short rule; ``None``
    means this host does not know it (a worker: its gateway's core builds the order again
    with its book and checks then). ``instruments``: the loaded assets, by default
    :data:`DEFAULT_INSTRUMENTS`. ``notional`` (dollars) instead of ``qty``: exactly one; a
    stock's is a market ``day`` order only, a pair's a market, limit or stop-limit order.

    ``legs`` (``order_class`` ``mleg``): a multi-leg options order; an OCC symbol is a
    single-leg options order (issue 24), by the options rules of
    :mod:`tradewire.venues.alpaca.option_orders`.

    Raises:
        OrderValidationError: one message naming the offending field, or the unknown asset.
    """
    if legs is not None or order_class == "mleg":
        if stop_price is not None or take_profit is not None or stop_loss is not None:
            raise OrderValidationError("mleg orders take no stop, take-profit or stop-loss")
        return build_mleg_order(
            legs or (),
            qty=qty if qty is not None else 0,
            order_type=order_type,
            time_in_force=time_in_force,
            limit_price=limit_price,
            client_order_id=client_order_id,
        )
    if is_option_symbol(symbol):
        if order_class not in (None, "simple") or take_profit is not None or stop_loss is not None:
            raise OrderValidationError(
                f"options orders are simple or mleg, got order_class {order_class!r}"
            )
        return build_option_order(
            symbol,
            side=side,
            order_type=order_type,
            time_in_force=time_in_force,
            qty=qty,
            notional=notional,
            limit_price=limit_price,
            stop_price=stop_price,
            client_order_id=client_order_id,
            extended_hours=extended_hours,
        )
    if "/" not in symbol:
        return build_order(
            symbol=symbol,
            side=side,
            order_type=order_type,
            time_in_force=time_in_force,
            qty=qty,
            notional=notional,
            limit_price=limit_price,
            stop_price=stop_price,
            extended_hours=extended_hours,
            client_order_id=client_order_id,
            order_class=order_class,
            take_profit=take_profit,
            stop_loss=stop_loss,
        )
    table = DEFAULT_INSTRUMENTS if instruments is None else instruments
    try:
        instrument = table.get(symbol, "crypto")
    except KeyError:
        raise OrderValidationError(f"unknown crypto asset {symbol}: load it first") from None
    except ValueError as exc:  # no pair at all (InstrumentError)
        raise OrderValidationError(str(exc)) from None
    if order_class not in (None, "simple") or take_profit is not None or stop_loss is not None:
        raise OrderValidationError(
            f"crypto orders are simple only (no bracket, oco or oto), got order_class {order_class!r}"
        )
    if extended_hours:
        raise OrderValidationError("extended_hours does not apply to crypto, which trades 24/7")
    return build_crypto_order(
        instrument,
        side=side,
        order_type=order_type,
        time_in_force=time_in_force,
        qty=qty,
        notional=notional,
        limit_price=limit_price,
        stop_price=stop_price,
        client_order_id=client_order_id,
        # unknown (a worker): assumed held; its gateway builds the order again with its book
        held=(qty if qty is not None else notional or 0.0) if held is None else max(held, 0.0),
    )
