"""Cancel, replace, session-end expiry and what a fill sets off (bracket/OCO/OTO children),
for :class:`~tradewire.sim.broker.matching.SimBook`, sans-I/O. A mixin of the book, which owns
the state; split out of matching.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tradewire.sim.broker import entry
from tradewire.sim.broker.crypto import CryptoAsset
from tradewire.sim.broker.orders import TERMINAL, Clock, Execution, OrderError, SimOrder


class OrderControl:
    """The book's order controls (see the module docstring)."""

    orders: dict[str, SimOrder]
    orders_by_client_id: dict[str, SimOrder]
    crypto: dict[str, CryptoAsset]
    clock: Clock
    _new_id: Callable[[], str]

    if TYPE_CHECKING:  # provided by SimBook; declared here for the type checker

        def activate(self, order: SimOrder) -> list[Execution]:
            raise NotImplementedError

        def _book(self, order: SimOrder) -> None:
            raise NotImplementedError

        def _evaluate(self, order: SimOrder) -> list[Execution]:
            raise NotImplementedError

    def get(self, order_id: str) -> SimOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise OrderError(404, 40410000, f"order not found for {order_id}")
        return order

    def cancel(self, order_id: str) -> list[Execution]:
        order = self.get(order_id)
        if order.order_class == "mleg" and order.parent_id is not None:
            order = self.orders[order.parent_id]  # an mleg leg ends with its strategy
        if order.status in TERMINAL:
            raise OrderError(422, 42210000, "order is not cancelable")
        execs = [Execution("pending_cancel", order, at=self.clock())]
        execs.extend(self._finish(order, "canceled"))
        for leg_id in order.legs:
            leg = self.orders[leg_id]
            if leg.status not in TERMINAL:
                execs.extend(self._finish(leg, "canceled", quiet=order.order_class == "mleg"))
        return execs

    def cancel_all(self) -> list[tuple[SimOrder, list[Execution]]]:
        return [
            (order, self.cancel(order.id))
            for order in list(self.orders.values())
            if order.is_open and order.parent_id is None
        ]

    def replace(self, order_id: str, body: dict[str, object]) -> tuple[SimOrder, list[Execution]]:
        old = self.get(order_id)
        new = self.build_replacement(old, body)
        old.status = "replaced"
        old.replaced_by = new.id
        at = self.clock()
        old.replaced_at = at
        old.touch(at)
        self._book(new)
        execs = [Execution("replaced", old, at=at)]
        execs.extend(self.activate(new))
        return new, execs

    def expire_day_orders(self) -> list[Execution]:
        """End of session: open DAY orders end as ``expired`` (the reference leaves
        canceled-vs-expired UNCONFIRMED; ``expired`` is the TIF-end event that exists)."""
        execs: list[Execution] = []
        for order in list(self.orders.values()):
            if order.is_open and order.time_in_force in ("day", "opg", "cls"):
                leg = order.parent_id is not None and order.order_class == "mleg"
                execs.extend(self._finish(order, "expired", quiet=leg))
        return execs

    def build_replacement(self, old: SimOrder, body: dict[str, object]) -> SimOrder:
        """Validate a PATCH body against ``old`` and build the new order (not booked)."""
        return entry.replacement(
            old,
            body,
            pair=self.crypto.get(old.symbol),
            taken=self.orders_by_client_id,
            new_id=self._new_id,
            at=self.clock(),
        )

    def _on_filled(self, order: SimOrder) -> list[Execution]:
        # Bracket/OTO: children go live after the entry fills; a filled child cancels siblings.
        execs: list[Execution] = []
        if order.order_class == "oco" and order.parent_id is None:
            for leg_id in order.legs:
                leg = self.orders[leg_id]
                if leg.status not in TERMINAL:
                    execs.extend(self._finish(leg, "canceled"))
            return execs
        for leg_id in order.legs:
            leg = self.orders[leg_id]
            if leg.status == "held":
                leg.status = "new"
                at = self.clock()
                leg.touch(at)
                execs.append(Execution("new", leg, at=at))
                execs.extend(self._evaluate(leg))
        if order.parent_id is not None:
            parent = self.orders[order.parent_id]
            siblings = [self.orders[i] for i in parent.legs if i != order.id]
            if parent.order_class == "oco" and parent.status not in TERMINAL:
                siblings.append(parent)
            for sib in siblings:
                if sib.status not in TERMINAL:
                    execs.extend(self._finish(sib, "canceled"))
        return execs

    def _finish(self, order: SimOrder, status: str, *, quiet: bool = False) -> list[Execution]:
        at = self.clock()
        order.status = status
        order.touch(at)
        if status == "canceled":
            order.canceled_at = at
        elif status == "expired":
            order.expired_at = at
        return [] if quiet else [Execution(status, order, at=at)]
