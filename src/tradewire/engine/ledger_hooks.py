"""The ledger's hooks into the engine core: what each applied change does for the strategies.

The last step of the one outcome path (:meth:`Ledger.apply` → here): money moves with fills
and fees, counters count, the owner's handle takes the order's state and the owner hears of
the change (:meth:`EngineCore.tell`), and an order cancelled before its acknowledgement is
cancelled once the venue names it. A replacement made elsewhere joins its original's owner.
After the write, never on the hot path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tradewire.engine import orders as o
from tradewire.engine.options import parse_occ
from tradewire.engine.translate import UPDATE_NAMES
from tradewire.engine.views import OrderHandle

if TYPE_CHECKING:
    from tradewire.engine.core import EngineCore
    from tradewire.engine.events import FeeCharged, OptionSettled


def on_fee(core: EngineCore, fee: FeeCharged) -> None:
    """The ledger's hook for a fee it booked: a dollar fee comes off the account's cash."""
    if fee.usd:
        core.account.on_fee(fee.usd)


def on_settled(core: EngineCore, settled: OptionSettled, shares: float) -> None:
    """The ledger's hook for an option settlement: delivered shares move cash at the strike."""
    if shares:
        underlying = parse_occ(settled.symbol).underlying
        side = "buy" if shares > 0 else "sell"
        core.account.on_fill(None, underlying, side, abs(shares), settled.strike)


def on_applied(core: EngineCore, event: o.OrderEvent, applied: o.Applied, kind: str) -> None:
    """The ledger's hook, the last step of the one outcome path: money moves, counters
    count, and the owner hears of every change to its order."""
    order = applied.order
    cid = order.client_order_id
    counters = core.counters
    strategy = core.owner.get(cid)
    name = strategy.name if strategy is not None else None
    if order.legs:  # a multi-leg order: money moves leg by leg, at each leg's price
        if applied.legs:
            counters.fills += 1
        for leg in applied.legs:
            core.account.on_fill(name, leg.symbol, leg.side, leg.qty, leg.price)
    elif applied.fill_qty:
        counters.fills += 1
        core.account.on_fill(name, order.symbol, order.side, applied.fill_qty, applied.fill_price)
    etype = type(event)
    if etype is o.Canceled:
        counters.orders_canceled += 1
    elif etype is o.Expired:
        counters.orders_expired += 1
    elif etype is o.Rejected:
        counters.orders_rejected += 1
    if core.observer is not None:
        core.observer(event, applied)
    handle = core.handles.get(cid)
    if handle is None or strategy is None:
        return
    handle.status = order.status
    handle.filled_qty = order.filled_qty
    handle.filled_avg_price = order.avg_fill_price or None
    handle.broker_order_id = order.broker_id or None
    if isinstance(event, o.Rejected):
        handle.reject_reason = event.reason
    position = core.ledger.book.qty(order.symbol) if applied.fill_qty else None  # type: ignore[union-attr]
    core.tell(
        strategy,
        handle,
        UPDATE_NAMES.get(kind, kind),
        applied.fill_qty,
        applied.fill_price,
        position,
    )
    if cid in core.cancel_after_ack and order.broker_id:
        core.cancel_after_ack.discard(cid)
        core.cancel(strategy, cid)


def on_linked(core: EngineCore, replacement: o.Order, original: o.Order) -> None:
    """A replacement of one of ours (ours from :func:`tradewire.engine.actions.replace`, or PATCHed elsewhere):
    same owner, and its own handle."""
    strategy = core.owner.get(original.client_order_id)
    if strategy is None:
        return
    cid = replacement.client_order_id
    core.owner[cid] = strategy
    if cid not in core.handles:
        core.handles[cid] = OrderHandle(
            cid,
            replacement.symbol,
            replacement.side,  # type: ignore[arg-type]
            replacement.qty,
            replacement.order_type,  # type: ignore[arg-type]
            replacement.limit_price,
        )
