"""The account's pre-trade rules as one function of flat numbers, in C and in Python.

The native order path (issue 26, :mod:`tradewire.engine.native`) checks risk in C on the
same numbers the Python engine passes. One rule set must not become two that drift, so the
C one (``native/_orderpath.c``, ``risk_rules``) is authoritative and :class:`PyRiskCore`
here is its line-for-line twin for processes without the extension: the risk unit tests run
against both, and ``tests/unit/engine/test_risk_native.py`` compares them on random cases.

Both answer a code: 0 approved, else ``1 +`` the index of the rule's
:class:`~tradewire.engine.verdicts.DenyReason` (:data:`CODES`).
:meth:`tradewire.engine.risk.RiskEngine.explain` turns a code into the denial's one line.
The approve path allocates nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from tradewire.engine import native as compiled
from tradewire.engine.verdicts import DenyReason

if TYPE_CHECKING:
    from tradewire.engine.native._orderpath import RiskCore

__all__ = ["CODES", "MODE", "LimitsRow", "PyRiskCore", "RiskCoreLike", "make_risk_core"]

_INF = float("inf")
CODES: tuple[DenyReason, ...] = tuple(DenyReason)[:13]
"""A rule's code minus one indexes this (the C enum's order)."""
KILL_SWITCH, HALTED, REDUCING_ONLY, THROTTLE, MAX_OPEN, MAX_QTY, MAX_NOTIONAL = range(1, 8)
PRICE_BAND, NO_REFERENCE, MAX_POSITION, GROSS_EXPOSURE, DAILY_LOSS, INVALID_NUMBER = range(8, 14)
MODE = {"ACTIVE": 0, "REDUCING": 1, "HALTED": 2, "KILLED": 3}
"""The core's trading mode, from TradingState (a kill switch is its own mode)."""

LimitsRow = tuple[float, float, float, float, float, float, float]
"""max open orders, order qty, order notional, price band %, position qty, gross exposure,
daily loss: one asset class's limits, in the C struct's order."""

RiskCoreLike: TypeAlias = "RiskCore | PyRiskCore"
"""The native core (its signatures: ``native/_orderpath.pyi``) or its Python twin."""


class PyRiskCore:
    """The rules of ``_orderpath.c`` in Python (keep the two in step: the tests compare)."""

    __slots__ = ("crypto", "last_ns", "mode", "rate", "stock", "tokens")

    def __init__(self, stock: LimitsRow, crypto: LimitsRow, rate: float, /) -> None:
        self.stock = tuple(float(v) for v in stock)
        self.crypto = tuple(float(v) for v in crypto)
        self.rate = self.tokens = float(rate)
        self.last_ns = 0
        self.mode = 0

    def check(
        self,
        crypto: bool,
        buy: bool,
        qty: float,
        price: float | None,
        mid: float | None,
        position: float,
        open_orders: int,
        gross: float,
        daily_pnl: float,
        now_ns: int,
        working_buy: float,
        working_sell: float,
        working_notional: float,
        notional: float,
        multiplier: float,
        /,
    ) -> int:
        cfg = self.crypto if crypto else self.stock
        max_open, max_qty, max_notional, band_pct, max_position, max_gross, max_loss = cfg
        mode = self.mode
        if mode == 3:
            return KILL_SWITCH
        if mode == 2:
            return HALTED
        if notional:
            if mid is None and notional == notional:  # NaN: the invalid-number check below
                return NO_REFERENCE
            qty = notional / mid if mid else notional
        total = position + gross + daily_pnl + working_notional + working_buy
        total += working_sell
        if not (
            0.0 < qty < _INF
            and (price is None or 0.0 < price < _INF)
            and (mid is None or 0.0 < mid < _INF)
            and total - total == 0.0
        ):
            return INVALID_NUMBER
        if buy:
            after = position + working_buy + qty  # worst case: every working buy fills too
            reduces = position < 0 and after <= 0
        else:
            after = position - working_sell - qty
            reduces = position > 0 and after >= 0
        if mode == 1 and not reduces:
            return REDUCING_ONLY
        if self.last_ns:
            self.tokens = min(self.rate, self.tokens + (now_ns - self.last_ns) * self.rate / 1e9)
        self.last_ns = now_ns
        if self.tokens < 1.0:
            return THROTTLE
        if open_orders >= max_open:
            return MAX_OPEN
        if qty > max_qty:
            return MAX_QTY
        if mid is None:
            return NO_REFERENCE
        if not notional:  # the worse of the limit and the reference; an option's x100
            notional = qty * (price if price is not None and price > mid else mid)
            notional *= multiplier
        if notional > max_notional:
            return MAX_NOTIONAL
        if price is not None and abs(price - mid) / mid * 100.0 > band_pct:
            return PRICE_BAND
        if not reduces and abs(after) > max_position:
            return MAX_POSITION
        if not reduces and gross + working_notional + notional > max_gross:
            return GROSS_EXPOSURE
        if daily_pnl < -max_loss and not reduces:
            return DAILY_LOSS
        self.tokens -= 1.0
        return 0

    def gate(self, now_ns: int, open_orders: int, /) -> int:
        mode = self.mode
        if mode == 3:
            return KILL_SWITCH
        if mode == 2:
            return HALTED
        if mode == 1:
            return REDUCING_ONLY
        if self.last_ns:
            self.tokens = min(self.rate, self.tokens + (now_ns - self.last_ns) * self.rate / 1e9)
        self.last_ns = now_ns
        if self.tokens < 1.0:
            return THROTTLE
        if open_orders >= self.stock[0]:
            return MAX_OPEN
        self.tokens -= 1.0
        return 0


def make_risk_core(
    stock: LimitsRow, crypto: LimitsRow, rate: float, *, native: bool | None = None
) -> RiskCoreLike:
    """The native core when this process has it (``native=None``), else the Python twin;
    ``native`` True or False asks for one (True without the extension raises)."""
    module = compiled.NATIVE
    if native is None:
        native = module is not None
    if native:
        if module is None:
            raise RuntimeError("the native order path is not built in this process")
        core: RiskCore = module.RiskCore(stock, crypto, rate)
        return core
    return PyRiskCore(stock, crypto, rate)
