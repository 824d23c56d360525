"""Cancel everything (and optionally flatten), and do not stop until the broker agrees.

The kill switch once made one cancel-all call with no retry: under 429 it failed after 7 s
with 26 orders still live, and via SIGUSR1 the failure was silent; a stop could exit 0
with orders live. Here every step is retried with backoff (Retry-After honoured) within
one bound, and the result is verified by asking the broker what is still open. The outcome
names whatever stayed live, so every entry point can report it and exit non-zero.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from tradewire.errors import RetryableBrokerError, TradewireError
from tradewire.venues.alpaca.client import AlpacaClient

log = logging.getLogger(__name__)


@dataclass(slots=True)
class CancelOutcome:
    """What cancel-all (and flatten) achieved, as the broker confirmed it."""

    canceled: int = 0
    closed_positions: int = 0
    attempts: int = 0
    still_open: list[str] = field(default_factory=list)  # client_order_ids
    positions_left: dict[str, float] = field(default_factory=dict)
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.still_open and not self.positions_left and not self.error

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "canceled": self.canceled,
            "closed_positions": self.closed_positions,
            "attempts": self.attempts,
            "still_open": self.still_open,
            "positions_left": self.positions_left,
            **({"error": self.error} if self.error else {}),
        }

    def describe(self) -> str:
        parts = []
        if self.still_open:
            parts.append(f"{len(self.still_open)} orders still open: {', '.join(self.still_open)}")
        if self.positions_left:
            parts.append(f"positions left: {self.positions_left}")
        if self.error:
            parts.append(self.error)
        return "; ".join(parts) or "nothing open"


async def cancel_everything(
    broker: AlpacaClient, *, flatten: bool, timeout_s: float
) -> CancelOutcome:
    """Cancel every open order (then close every position) until verified, within ``timeout_s``."""
    outcome = CancelOutcome()
    deadline = time.monotonic() + timeout_s
    delay = 0.1
    flattened = False
    while True:
        outcome.attempts += 1
        wait = delay
        try:
            still_open = await broker.list_all_open_orders()
            if still_open:
                results = await broker.cancel_all_orders()
                outcome.canceled += sum(1 for r in results if 200 <= r.status < 300)
                still_open = await broker.list_all_open_orders()
            outcome.still_open = sorted(b.client_order_id for b in still_open)
            if flatten and not still_open:
                held = {
                    p.symbol: float(p.qty) for p in await broker.get_positions() if float(p.qty)
                }
                if held and not flattened:
                    closes = await broker.close_all_positions(cancel_orders=True)
                    outcome.closed_positions += sum(1 for r in closes if 200 <= r.status < 300)
                    flattened = True
                    held = {
                        p.symbol: float(p.qty) for p in await broker.get_positions() if float(p.qty)
                    }
                elif held:
                    flattened = False  # the closing orders ended without closing: close again
                outcome.positions_left = held
            outcome.error = ""
            if outcome.ok:
                return outcome
        except RetryableBrokerError as exc:
            outcome.error = str(exc)
            wait = exc.retry_after or delay
        except TradewireError as exc:
            outcome.error = str(exc)
        if time.monotonic() + wait > deadline:
            if outcome.error == "" and not outcome.ok:
                outcome.error = f"not verified within {timeout_s:.0f}s"
            return outcome
        log.warning("cancel-all not finished (%s); again in %.2fs", outcome.describe(), wait)
        await asyncio.sleep(wait)
        delay = min(delay * 2, 2.0)
