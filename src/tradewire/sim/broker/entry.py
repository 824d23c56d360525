"""Order entry rules of the simulated broker for stocks, sans-I/O: the checks a
``POST /v2/orders`` body must pass (reference/alpaca.md section 4), bracket/OCO/OTO legs,
replacements (``PATCH``), and when an order is marketable. Split out of matching.py; the
crypto rules are in crypto.py, the option rules in options.py and mleg.py.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from datetime import datetime
from decimal import Decimal

from tradewire.sim.broker import crypto
from tradewire.sim.broker.crypto import CryptoAsset
from tradewire.sim.broker.options import TIF_REFUSED
from tradewire.sim.broker.orders import (
    CENT,
    ORDER_TYPES,
    TIFS,
    OrderError,
    SimOrder,
    _check_tick,
    _dec,
    asset_id_for,
)


def equity_order(
    body: Mapping[str, object],
    symbol: str,
    *,
    client_order_id: str,
    new_id: Callable[[], str],
    at: datetime,
) -> SimOrder:
    """Validate a POST /v2/orders body for a stock (section 4); the order, not yet booked.
    ``symbol``: the ticker, upper case."""
    side = body.get("side")
    otype = body.get("type") or body.get("order_type")
    tif = body.get("time_in_force")
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
        raise OrderError(422, 40010001, 'only type="limit" is allowed for extended hours orders')
    if qty is not None and qty != qty.to_integral_value() and tif != "day":
        raise OrderError(422, 40010001, "fractional orders must be day orders")
    if order_class not in ("simple", "bracket", "oco", "oto", ""):
        raise OrderError(422, 40010001, f"invalid order_class: {order_class!r}")
    order = SimOrder(
        id=new_id(),
        client_order_id=client_order_id,
        symbol=symbol,
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
        asset_id=asset_id_for(symbol),
        created_at=at,
        updated_at=at,
        submitted_at=at,
    )
    return order


def bracket_legs(
    parent: SimOrder, body: Mapping[str, object], *, new_id: Callable[[], str], at: datetime
) -> list[SimOrder]:
    """The take-profit and stop-loss legs of a bracket, OCO or OTO order (not booked)."""
    # bracket: entry + take-profit limit + stop-loss; oto: entry + one; oco: exit pair.
    tp_raw, sl_raw = body.get("take_profit"), body.get("stop_loss")
    tp: dict[str, object] | None = tp_raw if isinstance(tp_raw, dict) else None
    sl: dict[str, object] | None = sl_raw if isinstance(sl_raw, dict) else None
    cls = parent.order_class
    if cls == "bracket" and (tp is None or sl is None):
        raise OrderError(422, 40010001, "bracket orders require take_profit and stop_loss")
    if cls == "oco" and (tp is None or sl is None or parent.type != "limit"):
        raise OrderError(422, 40010001, "oco orders require a limit take_profit and a stop_loss")
    if cls == "oto" and (tp is None) == (sl is None):
        raise OrderError(422, 40010001, "oto orders require exactly one of take_profit, stop_loss")
    exit_side = "sell" if parent.side == "buy" else "buy"
    legs: list[SimOrder] = []
    tif = parent.time_in_force if parent.time_in_force in ("day", "gtc") else "day"
    if tp is not None and cls != "oco":
        price = _dec(tp.get("limit_price"), "take_profit.limit_price")
        _check_tick(price, "take_profit.limit_price")
        if price is None:
            raise OrderError(422, 40010001, "take_profit.limit_price is required")
        legs.append(_leg(parent, new_id, at, exit_side, "limit", tif, limit=price))
    if sl is not None:
        stop = _dec(sl.get("stop_price"), "stop_loss.stop_price")
        limit = _dec(sl.get("limit_price"), "stop_loss.limit_price")
        _check_tick(stop, "stop_loss.stop_price")
        if stop is None:
            raise OrderError(422, 40010001, "stop_loss.stop_price is required")
        otype = "stop_limit" if limit is not None else "stop"
        legs.append(_leg(parent, new_id, at, exit_side, otype, tif, stop=stop, limit=limit))
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
    parent: SimOrder,
    new_id: Callable[[], str],
    at: datetime,
    side: str,
    otype: str,
    tif: str,
    *,
    limit: Decimal | None = None,
    stop: Decimal | None = None,
) -> SimOrder:
    return SimOrder(
        id=new_id(),
        client_order_id=new_id(),
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


def replacement(
    old: SimOrder,
    body: Mapping[str, object],
    *,
    pair: CryptoAsset | None,
    taken: Container[str],
    new_id: Callable[[], str],
    at: datetime,
) -> SimOrder:
    """Validate a PATCH body against ``old`` and build the new order (not booked)."""
    if not old.is_open or old.order_class == "mleg":
        # UNCONFIRMED for mleg: replacing a multi-leg order is not simulated; it is refused
        # as an order that cannot be replaced.
        raise OrderError(422, 42210000, "order is not replaceable")
    tif = body.get("time_in_force")
    if old.multiplier != 1 and tif is not None and tif not in ("day", "gtc"):
        raise OrderError(422, 40010001, TIF_REFUSED)  # an option: day and gtc only
    qty = _dec(body.get("qty"), "qty")
    limit = _dec(body.get("limit_price"), "limit_price")
    stop = _dec(body.get("stop_price"), "stop_price")
    if pair is not None:
        crypto.check_replacement(pair, qty, limit, stop, body.get("time_in_force"))
    else:
        if qty is not None and (qty <= 0 or qty != qty.to_integral_value()):
            raise OrderError(422, 40010001, "qty must be a whole number > 0")
        _check_tick(limit, "limit_price")
        _check_tick(stop, "stop_price")
    cid = body.get("client_order_id")
    if isinstance(cid, str) and cid in taken:
        raise OrderError(422, 40010001, "client_order_id must be unique")
    return SimOrder(
        id=new_id(),
        client_order_id=cid if isinstance(cid, str) and cid else new_id(),
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
        multiplier=old.multiplier,
        position_intent=old.position_intent,
        status="accepted",
        created_at=at,
        updated_at=at,
        submitted_at=at,
    )


def marketable_price(order: SimOrder, bid: Decimal, ask: Decimal, touch: Decimal) -> Decimal | None:
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
        order.stop_price = (order.hwm - offset if not buy else order.hwm + offset).quantize(CENT)
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
