"""Cash, equity, buying power and each strategy's P&L, as every host shows them.

Before the engine core, ``cash`` was read once at start-up live, was always 0 in a worker and
never moved in a backtest. Here it is the broker's figure at its last read (start-up,
reconciliation; the starting cash in a backtest; the gateway's in a worker), moved by every
fill since at the fill's price, the way the broker moves it (a buy spends, a sell brings).
Buying power is the broker's figure at that read, less what fills have spent since; equity
is cash plus every position at its mark; an option's figures go through its multiplier (100
shares a contract). A fee charged in dollars (a ``FeeCharged`` with
``usd``: a crypto sell's) comes off cash as the ledger books it; a fee charged in the coin
moves no cash (it shrinks the position).

A strategy's own P&L comes from its own fills (average cost, as the account's book), so
two strategies on one symbol each see what their orders made.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from tradewire.engine.options import multiplier_of
from tradewire.engine.positions import PositionBook

_CENT = Decimal("0.01")


def money(value: float) -> Decimal:
    """A dollar figure as the API shows it: a Decimal in cents (no float artefacts)."""
    return Decimal(repr(value)).quantize(_CENT)


class Account:
    """The account's money as the engine believes it, and each strategy's fills."""

    __slots__ = ("_buying_power_read", "_cash_at_read", "by_strategy", "cash", "options_level")

    def __init__(self, cash: float = 0.0, buying_power: float | None = None) -> None:
        self.cash = cash
        self._cash_at_read = cash
        self._buying_power_read = buying_power
        self.by_strategy: dict[str, PositionBook] = {}
        # Alpaca's options trading level (0 none, 1 covered, 2 long, 3 spreads) at the last
        # read; None: not known (a backtest, a venue without it): the level is not checked.
        self.options_level: int | None = None

    def __repr__(self) -> str:
        return f"Account(cash={self.cash:.2f}, buying_power={self.buying_power:.2f})"

    def read(
        self, cash: float, buying_power: float | None = None, options_level: int | None = None
    ) -> None:
        """The broker's figures now: they replace what fills had moved."""
        self.cash = self._cash_at_read = cash
        self._buying_power_read = buying_power
        if options_level is not None:
            self.options_level = options_level

    def on_fill(
        self, strategy: str | None, symbol: str, side: str, qty: float, price: float
    ) -> None:
        amount = qty * price * multiplier_of(symbol)
        self.cash += -amount if side == "buy" else amount
        if strategy:
            book = self.by_strategy.get(strategy)
            if book is None:
                book = self.by_strategy[strategy] = PositionBook()
            book.apply_fill(symbol, side, qty, price)

    def on_fee(self, usd: float) -> None:
        """A fee the broker charged in dollars (the ledger's ``FeeCharged``)."""
        self.cash -= usd

    @property
    def buying_power(self) -> float:
        if self._buying_power_read is None:
            return self.cash
        return self._buying_power_read + (self.cash - self._cash_at_read)

    def equity(self, book: PositionBook, marks: Mapping[str, float]) -> float:
        """Cash plus every position at its mark (its average price when none is known)."""
        value = self.cash
        for sym, pos in book.positions.items():
            if pos.qty:
                price = marks.get(sym, pos.mark if pos.mark is not None else pos.avg_price)
                value += pos.qty * price * pos.multiplier
        return value

    def pnl(self, strategy: str, marks: Mapping[str, float]) -> tuple[float, float]:
        """``(realized, unrealized)`` of one strategy's fills, marked at ``marks``."""
        book = self.by_strategy.get(strategy)
        if book is None:
            return 0.0, 0.0
        for sym in book.positions:
            mark = marks.get(sym)
            if mark is not None:
                book.mark(sym, mark)
        return book.realized, book.unrealized
