"""A worker's orders as its gateway reports them: the engine core in remote mode.

A worker keeps no ledger: the gateway checks the whole account's risk, journals and sends,
and reports every change back (an ``Update``, a denial in an ``Ack``, the account's
positions and money every second). Here those reports move the worker's handles, money and
positions, and reach the strategy through the core (:meth:`EngineCore.tell`), so a
strategy hears of its orders in a worker exactly as it does inline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tradewire.engine.orders import OrderStatus
from tradewire.engine.strategy import OrderEventType, OrderHandle, PositionView, Strategy

if TYPE_CHECKING:
    from tradewire.engine.core import EngineCore


class RemoteOrders:
    """What the gateway said of this worker's orders and of the account's positions."""

    def __init__(self, core: EngineCore) -> None:
        self._core = core
        self.positions: dict[str, PositionView] = {}  # the account's, from the gateway

    def on_update(
        self,
        cid: str,
        event: str,
        *,
        status: str,
        filled_qty: float,
        filled_avg_price: float | None,
        broker_order_id: str | None,
        reject_reason: str | None,
        fill_qty: float,
        fill_price: float | None,
        position_qty: float | None,
    ) -> None:
        """A gateway's word about one of this worker's orders (remote mode)."""
        core = self._core
        handle = core.handles.get(cid)
        strategy = core.owner.get(cid)
        if fill_qty and fill_price is not None and handle is not None:
            core.counters.fills += 1
            core.account.on_fill(
                strategy.name if strategy else None,
                handle.symbol,
                handle.side,
                fill_qty,
                fill_price,
            )
            if position_qty is not None:
                old = self.positions.get(handle.symbol) or PositionView(handle.symbol)
                old.qty = position_qty
                self.positions[handle.symbol] = old
        if handle is None or strategy is None:
            return
        handle.status = _status(status)
        handle.filled_qty = filled_qty
        handle.filled_avg_price = filled_avg_price
        handle.broker_order_id = broker_order_id
        if reject_reason is not None:
            handle.reject_reason = reject_reason
        core.tell(strategy, handle, event, fill_qty, fill_price, position_qty)

    def on_denied(self, cid: str, why: str) -> None:
        """The gateway refused one of this worker's orders (its risk, its halt)."""
        core = self._core
        handle = core.handles.get(cid)
        strategy = core.owner.get(cid)
        core.counters.orders_denied += 1
        rule = why.partition(":")[0].strip() or "gateway"
        core.counters.denials_by_reason[rule] = core.counters.denials_by_reason.get(rule, 0) + 1
        if handle is None or strategy is None:
            return
        core.first_denials.note(strategy.name, rule, why, handle.side, handle.qty, handle.symbol)
        handle.status = "denied"
        handle.denied = why
        core.tell(strategy, handle, OrderEventType.DENIED, 0.0, None, None)

    def adopt(self, handle: OrderHandle, strategy: Strategy) -> None:
        """An order of a previous life of this host (a worker's welcome), owned again."""
        core = self._core
        core.handles[handle.client_order_id] = handle
        core.owner[handle.client_order_id] = strategy


def _status(name: str) -> str:
    try:
        return OrderStatus(name)
    except ValueError:
        return name  # a status this build has no name for: kept as the gateway said it
