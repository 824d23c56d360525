"""The strategy's order actions built on the core's primitives: replace, close a position,
close them all. They submit, cancel and register through :class:`EngineCore` like any order,
so they pass risk, the journal and the same venue port in every host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tradewire.engine import orders as o
from tradewire.engine.strategy import OrderHandle, Strategy

if TYPE_CHECKING:
    from tradewire.engine.core import EngineCore

_NOT_REPLACEABLE = frozenset(
    {
        o.OrderStatus.PENDING_CANCEL,
        o.OrderStatus.PENDING_REPLACE,
        o.OrderStatus.INTENT,
        o.OrderStatus.SENT,
    }
)


def replace(
    core: EngineCore,
    strategy: Strategy,
    client_order_id: str,
    *,
    qty: float | None = None,
    limit_price: float | None = None,
    stop_price: float | None = None,
    new_client_order_id: str | None = None,
) -> OrderHandle | None:
    """Ask the venue to replace a working order (Alpaca's PATCH): the replacement is a
    new order, returned as a handle now, under a new client_order_id; the original ends
    ``replaced`` (or stays, with ``order_replace_rejected``)."""
    old = core.handles.get(client_order_id)
    if old is None or not old.is_open or core.owner.get(client_order_id) is not strategy:
        return None
    ledger = core.ledger
    broker_id = old.broker_order_id or ""
    if ledger is not None:
        order = ledger.oms.get(client_order_id)
        if order is None or not order.broker_id or order.status in _NOT_REPLACEABLE:
            return None
        broker_id = order.broker_id
    cid = new_client_order_id or core.ids.next()
    new = OrderHandle(
        cid,
        old.symbol,
        old.side,
        qty if qty is not None else old.remaining_qty,
        old.order_type,
        limit_price if limit_price is not None else old.limit_price,
        stop_price=stop_price if stop_price is not None else old.stop_price,
    )
    new.replaces = client_order_id
    if qty is None and old.notional is not None:
        new.notional = old.notional  # a notional order's replacement spends the same dollars
    core.handles[cid] = new
    core.owner[cid] = strategy
    if ledger is not None:
        ledger.apply(client_order_id, o.ReplaceRequested())
    core.port.replace(
        client_order_id,
        broker_id,
        new_client_order_id=cid,
        qty=qty,
        limit_price=limit_price,
        stop_price=stop_price,
    )
    return new


def replace_refused(core: EngineCore, new_cid: str, reason: str) -> None:
    """The venue refused a :func:`replace`: the replacement never existed (the original
    heard ``order_replace_rejected`` through the ledger)."""
    handle = core.handles.pop(new_cid, None)
    core.owner.pop(new_cid, None)
    if handle is not None:
        handle.status = o.OrderStatus.REJECTED
        handle.reject_reason = reason


def close_position(core: EngineCore, strategy: Strategy, symbol: str) -> OrderHandle | None:
    """Cancel ``strategy``'s open orders on ``symbol`` and send a market order for the
    account's whole position the other way (``None`` when flat)."""
    for handle in core.open_orders(strategy):
        if handle.symbol == symbol:
            core.cancel(strategy, handle.client_order_id)
    qty = core.position(symbol).qty
    if not qty:
        return None
    return core.submit(
        strategy,
        symbol,
        "sell" if qty > 0 else "buy",
        abs(qty),
        order_type="market",
        limit_price=None,
        stop_price=None,
        time_in_force="day",
        extended_hours=False,
        client_order_id=None,
    )


def close_all(core: EngineCore, strategy: Strategy) -> list[OrderHandle]:
    """:func:`close_position` for every symbol of ``strategy`` with a position."""
    closing = []
    for symbol in strategy.symbols:
        handle = close_position(core, strategy, symbol)
        if handle is not None:
            closing.append(handle)
    return closing
