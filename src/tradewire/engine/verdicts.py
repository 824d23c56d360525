"""What a pre-trade check answers: approved, or denied with a reason and one clear line.

Its own module so every rule set (the account's in :mod:`tradewire.engine.risk`, the options
rules in :mod:`tradewire.engine.options_risk`) answers in the same terms without importing
another; :mod:`tradewire.engine.risk` re-exports them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class DenyReason(enum.Enum):
    KILL_SWITCH = "kill_switch"
    HALTED = "halted"
    REDUCING_ONLY = "reducing_only"
    THROTTLE = "throttle"
    MAX_OPEN_ORDERS = "max_open_orders"
    MAX_QTY = "max_qty"
    MAX_NOTIONAL = "max_notional"
    PRICE_BAND = "price_band"
    NO_REFERENCE_PRICE = "no_reference_price"
    MAX_POSITION = "max_position"
    GROSS_EXPOSURE = "gross_exposure"
    DAILY_LOSS = "daily_loss"
    INVALID_NUMBER = "invalid_number"
    # Options (issue 24): tradewire.engine.options_risk, scope "options".
    INVALID_LEGS = "invalid_legs"
    MAX_CONTRACTS = "max_contracts"
    MAX_PREMIUM = "max_premium"
    DAILY_PREMIUM = "daily_premium"
    NAKED_SHORT = "naked_short"
    OPTIONS_LEVEL = "options_level"


@dataclass(frozen=True, slots=True)
class Denied:
    reason: DenyReason
    detail: str
    scope: str = ""  # the asset class whose limit denied ("crypto"), "" for the stock limits

    def __str__(self) -> str:
        if self.scope:
            return f"{self.reason.value} ({self.scope}): {self.detail}"
        return f"{self.reason.value}: {self.detail}"


class _Approved:
    __slots__ = ()

    def __repr__(self) -> str:
        return "APPROVED"


APPROVED = _Approved()
Verdict = _Approved | Denied
