"""Market data a backtest must not trade on: found, skipped and counted, never silent.

Recorded data and flat files can hold NaN or infinite numbers (a 4,400-digit price reads as
``inf``), negative prices and crossed quotes (bid above ask). Accepted, they decided whole
runs: one NaN quote in 50 left a strategy's average NaN so it sent no order all run, and
crossed quotes filled at prices nobody quoted (+8,961 P&L instead of +7). Such an event is
dropped before it reaches the strategy or the fill model and counted by reason, so the run
equals the one on the file without those rows and says what it left out.

A zero price on one side of a quote means that side is empty (Polygon's convention), so it
is kept; a quote with neither side, or a trade at zero, is not a price.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tradewire.venues.polygon.crypto import CryptoEvent, CryptoQuote, CryptoTrade
from tradewire.venues.polygon.messages import MarketEvent, Quote, Trade


@dataclass(slots=True)
class Skips:
    """Events skipped, by reason; :meth:`line` is what the backtest prints at its end."""

    by_reason: dict[str, int] = field(default_factory=dict)

    def keep(self, event: MarketEvent | CryptoEvent) -> bool:
        """True for a usable event; else count it under its reason."""
        reason = bad_event_reason(event)
        if reason is None:
            return True
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1
        return False

    @property
    def total(self) -> int:
        return sum(self.by_reason.values())

    def line(self) -> str | None:
        """``skipped 3 rows: 2 crossed quote, 1 non-finite price``; None when none were."""
        total = self.total
        if not total:
            return None
        parts = sorted(self.by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
        detail = ", ".join(f"{n} {reason}" for reason, n in parts)
        return f"skipped {total} row{'s' if total != 1 else ''}: {detail}"


def bad_event_reason(event: MarketEvent | CryptoEvent) -> str | None:
    """Why ``event`` is not market data a strategy may see, or None when it is."""
    if isinstance(event, Quote | CryptoQuote):
        return _quote_reason(event.bid_price, event.ask_price, event.bid_size, event.ask_size)
    if isinstance(event, Trade | CryptoTrade):
        return _trade_reason(event.price, event.size)
    return None


def _quote_reason(bid: float, ask: float, bid_size: float, ask_size: float) -> str | None:
    if not (math.isfinite(bid) and math.isfinite(ask)):
        return "non-finite price"
    if not (math.isfinite(bid_size) and math.isfinite(ask_size)):
        return "non-finite size"
    if bid < 0 or ask < 0:
        return "negative price"
    if bid_size < 0 or ask_size < 0:
        return "negative size"
    if bid == 0 and ask == 0:
        return "zero price"
    if bid > 0 and ask > 0 and bid > ask:
        return "crossed quote"
    return None


def _trade_reason(price: float, size: float) -> str | None:
    if not math.isfinite(price):
        return "non-finite price"
    if not math.isfinite(size):
        return "non-finite size"
    if price < 0:
        return "negative price"
    if price == 0:
        return "zero price"
    if size < 0:
        return "negative size"
    return None
