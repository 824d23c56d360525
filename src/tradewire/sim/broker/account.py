"""The simulated account's figures: marks, market value, equity, reserved buying power.

Kept beside the matching engine as a mixin of :class:`~tradewire.sim.broker.matching.SimBook`,
which owns the state these read.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from tradewire.sim.broker import mleg
from tradewire.sim.broker.orders import MARKET_COLLAR, ZERO, SimOrder, SimPosition
from tradewire.sim.market import NBBO


class AccountFigures:
    """Read-only figures over the book's positions, quotes and open orders."""

    cash: Decimal
    orders: dict[str, SimOrder]
    positions: dict[str, SimPosition]
    quotes: dict[str, NBBO]

    def mark(self, symbol: str) -> Decimal | None:
        q = self.quotes.get(symbol)
        if q is None or q.bid_price <= 0 or q.ask_price <= 0:
            return None
        return (Decimal(str(q.bid_price)) + Decimal(str(q.ask_price))) / 2

    def market_value(self, pos: SimPosition) -> Decimal:
        mark = self.mark(pos.symbol) or pos.avg_entry_price
        return pos.qty * mark * pos.multiplier

    @property
    def long_market_value(self) -> Decimal:
        return sum((self.market_value(p) for p in self.positions.values() if p.qty > 0), ZERO)

    @property
    def short_market_value(self) -> Decimal:
        return sum((self.market_value(p) for p in self.positions.values() if p.qty < 0), ZERO)

    @property
    def equity(self) -> Decimal:
        return self.cash + self.long_market_value + self.short_market_value

    def reserved(self) -> Decimal:
        """Buying power held by open buy orders (section 4: reserved immediately)."""
        total = ZERO
        for o in self.orders.values():
            if o.is_open and (o.side == "buy" or (o.order_class == "mleg" and not o.side)):
                total += self._order_cost(o, o.remaining if o.qty is not None else None)
        return total

    @property
    def buying_power(self) -> Decimal:
        return max(ZERO, self.cash - self.reserved())

    def _order_cost(
        self, order: SimOrder, qty: Decimal | None, legs: Sequence[SimOrder] | None = None
    ) -> Decimal:
        if order.order_class == "mleg":
            if order.parent_id is not None:
                return ZERO  # a leg: its strategy (the parent) holds the buying power
            if legs is None:
                legs = [self.orders[i] for i in order.legs]
            return mleg.cost(order, legs, self.quotes)
        if order.notional is not None and order.qty is None:
            return order.notional - (order.filled_qty * (order.filled_avg_price or ZERO))
        if qty is None:
            return ZERO
        price = order.limit_price or order.stop_price
        if price is None:
            q = self.quotes.get(order.symbol)
            price = Decimal(str(q.ask_price)) * MARKET_COLLAR if q and q.ask_price > 0 else ZERO
        return qty * price * order.multiplier
