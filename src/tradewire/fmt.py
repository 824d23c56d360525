"""Numbers as a user reads them: the panel, the summary, logs and risk denials.

Floats print their artefacts (``143.20499999999998``, ``0.30000000000000004``, ``1e-05``)
and whole quantities as ``10.0``; these three never do. Pure functions, no I/O: the engine's
denial texts use them too.
"""

from __future__ import annotations

_QTY_DECIMALS = 6  # fractional shares (Alpaca: 9 digits; 6 is past any real order)
_PRICE_MIN = 2  # cents: US equities' tick at or above $1
_PRICE_MAX = 4  # sub-dollar tick, and the half-tick of a mid or an average price


def qty(value: float) -> str:
    """``10``, ``1,000``, ``0.5``: whole quantities without decimals, fractions without
    trailing zeros, never in scientific notation."""
    whole = round(value, _QTY_DECIMALS) + 0.0  # + 0.0: never "-0"
    return f"{whole:,.{_QTY_DECIMALS}f}".rstrip("0").rstrip(".")


def price(value: float) -> str:
    """Two decimals (the cent tick), up to four when the price has them (a sub-dollar tick,
    a half-tick mid, an average of fills): ``143.205``, ``100.00``, ``0.1235``."""
    text = f"{value:,.{_PRICE_MAX}f}"
    keep = len(text) - (_PRICE_MAX - _PRICE_MIN)
    return text[:keep] + text[keep:].rstrip("0")


def money(value: float, *, signed: bool = False) -> str:
    """Dollars to the cent, ``+`` shown when ``signed`` (P&L): ``-1,234.57``, ``+0.00``."""
    cents = round(value, 2) + 0.0  # + 0.0: a loss of a fraction of a cent is not "-0.00"
    return f"{cents:+,.2f}" if signed else f"{cents:,.2f}"
