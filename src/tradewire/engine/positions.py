"""Positions and P&L from fills, by the average-cost method.

Quantities are in units (shares, coins, contracts) and prices per share; every money figure
(realized and unrealized P&L, exposure) is ``units x price x multiplier``, the multiplier
100 for a standard option contract and 1 otherwise (issue 24).

Average cost: buying into a long (or selling into a short) moves the average entry price;
reducing realizes P&L against that average; crossing zero realizes the whole old position
and opens the remainder at the fill price. Unrealized P&L is marked to the last mid.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradewire.engine.options import multiplier_of

_EPS = 1e-9


@dataclass(slots=True)
class Position:
    symbol: str
    qty: float = 0.0
    avg_price: float = 0.0
    realized: float = 0.0
    mark: float | None = None
    multiplier: float = 1.0

    @property
    def unrealized(self) -> float:
        if self.mark is None or self.qty == 0:
            return 0.0
        return (self.mark - self.avg_price) * self.qty * self.multiplier

    @property
    def exposure(self) -> float:
        price = self.mark if self.mark is not None else self.avg_price
        return abs(self.qty) * price * self.multiplier


@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    """One position as it stood when read: :meth:`PositionBook.get` hands out no live object."""

    symbol: str
    qty: float = 0.0
    avg_price: float = 0.0
    realized: float = 0.0
    mark: float | None = None
    multiplier: float = 1.0

    @property
    def unrealized(self) -> float:
        if self.mark is None or self.qty == 0:
            return 0.0
        return (self.mark - self.avg_price) * self.qty * self.multiplier

    @property
    def exposure(self) -> float:
        price = self.mark if self.mark is not None else self.avg_price
        return abs(self.qty) * price * self.multiplier


class PositionBook:
    """Every symbol's position; the one place fills change quantities.

    Only the ledger changes it (:meth:`apply_fill` for a fill, :meth:`apply_correction` for a
    :class:`~tradewire.engine.events.PositionCorrected`, :meth:`start_new_day`); everyone
    else reads it.
    """

    def __init__(self) -> None:
        self.positions: dict[str, Position] = {}
        self.day_start_pnl = 0.0
        # (realized, unrealized, gross exposure) summed over every symbol, kept until a
        # fill, a mark or an adoption changes a position: risk reads them on every order,
        # and summing per order cost O(symbols) on the hot path.
        self._totals: tuple[float, float, float] | None = None

    def get(self, symbol: str) -> PositionSnapshot:
        """A read-only copy of the position in ``symbol`` (flat when the book has none)."""
        pos = self.positions.get(symbol)
        if pos is None:
            return PositionSnapshot(symbol, multiplier=multiplier_of(symbol))
        return PositionSnapshot(
            symbol, pos.qty, pos.avg_price, pos.realized, pos.mark, pos.multiplier
        )

    def _writable(self, symbol: str) -> Position:
        self._totals = None  # the caller changes what it gets
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = Position(symbol, multiplier=multiplier_of(symbol))
        return pos

    def qty(self, symbol: str) -> float:
        pos = self.positions.get(symbol)
        return pos.qty if pos is not None else 0.0

    def apply_fill(self, symbol: str, side: str, qty: float, price: float) -> float:
        """Apply one fill; returns the P&L it realized."""
        pos = self._writable(symbol)  # clears the totals
        signed = qty if side == "buy" else -qty
        realized = 0.0
        if pos.qty == 0 or (pos.qty > 0) == (signed > 0):
            total = pos.qty + signed
            pos.avg_price = (pos.avg_price * abs(pos.qty) + price * qty) / abs(total)
            pos.qty = total
        else:
            closing = min(abs(signed), abs(pos.qty))
            direction = 1.0 if pos.qty > 0 else -1.0
            realized = (price - pos.avg_price) * closing * direction * pos.multiplier
            pos.realized += realized
            remaining = pos.qty + signed
            if abs(remaining) < 1e-12:
                pos.qty, pos.avg_price = 0.0, 0.0
            elif (remaining > 0) != (pos.qty > 0):
                pos.qty, pos.avg_price = remaining, price  # flipped through zero
            else:
                pos.qty = remaining
        if pos.mark is None:
            pos.mark = price
        return realized

    def apply_correction(
        self, symbol: str, qty: float, avg_price: float, realized: float = 0.0
    ) -> bool:
        """Take the broker's figure (the ledger's ``PositionCorrected``, nobody else's), and
        the P&L the change realized when the event says it.

        Returns whether the book held anything else.
        """
        pos = self.positions.get(symbol)
        if realized:
            pos = self._writable(symbol)
            pos.realized += realized
        if (
            pos is not None
            and abs(pos.qty - qty) <= _EPS
            and abs(pos.avg_price - avg_price) <= (_EPS * max(1.0, abs(avg_price)))
        ):
            return bool(realized)
        if pos is None and abs(qty) <= _EPS:
            return False
        pos = self._writable(symbol)
        pos.qty, pos.avg_price = qty, avg_price
        return True

    def apply_fee(self, symbol: str, qty: float, usd: float) -> None:
        """Take a fee (the ledger's ``FeeCharged``, nobody else's): ``qty`` units of the asset
        leave the position (its average entry price stays), ``usd`` comes off realized P&L."""
        pos = self._writable(symbol)  # clears the totals
        if qty:
            # Rounded to 12 places: the broker's figure is a decimal (0.009975), and 0.01 -
            # 0.000025 in floats is not quite it.
            pos.qty = round(pos.qty - qty, 12)
            if abs(pos.qty) < 1e-12:
                pos.qty, pos.avg_price = 0.0, 0.0
        pos.realized -= usd

    def mark(self, symbol: str, price: float) -> None:
        pos = self.positions.get(symbol)
        if pos is not None:
            pos.mark = price
            self._totals = None

    def _sums(self) -> tuple[float, float, float]:
        totals = self._totals
        if totals is None:
            realized = unrealized = gross = 0.0
            for p in self.positions.values():
                realized += p.realized
                unrealized += p.unrealized
                gross += p.exposure
            totals = self._totals = (realized, unrealized, gross)
        return totals

    @property
    def realized(self) -> float:
        return self._sums()[0]

    @property
    def unrealized(self) -> float:
        return self._sums()[1]

    @property
    def gross_exposure(self) -> float:
        return self._sums()[2]

    @property
    def daily_pnl(self) -> float:
        """P&L since the session began: realized plus the change in unrealized."""
        realized, unrealized, _ = self._sums()
        return realized + unrealized - self.day_start_pnl

    def start_new_day(self) -> None:
        self.day_start_pnl = self.realized + self.unrealized
