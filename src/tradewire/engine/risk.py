"""Pre-trade risk: a synchronous function that returns a verdict (after nautilus' RiskEngine).

Checks run cheapest first: kill switch, trading state, throttle, open orders, size,
notional, price band, position, gross exposure, daily loss. The approve path returns the
module constant :data:`APPROVED`: it neither allocates nor logs. A denial is a
:class:`Denied` with a reason; the node journals and counts it, and the order never leaves.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from tradewire.engine.config import RiskConfig


class TradingState(enum.Enum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"  # only orders that shrink a position
    HALTED = "HALTED"


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


@dataclass(frozen=True, slots=True)
class Denied:
    reason: DenyReason
    detail: str

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.detail}"


class _Approved:
    __slots__ = ()

    def __repr__(self) -> str:
        return "APPROVED"


APPROVED = _Approved()
Verdict = _Approved | Denied


@dataclass(slots=True)
class KillSwitch:
    engaged: bool = False
    reason: str = ""
    at_ns: int = 0


class RiskEngine:
    """Holds the limits and the little state the checks need (throttle, reject streak).

    Positions, exposure and P&L are read through the callables given at construction, so
    the engine has one source of truth (the position book) and nothing to keep in sync.
    """

    def __init__(self, config: RiskConfig) -> None:
        self.config = config
        self.state = TradingState.ACTIVE
        self.state_reason = ""
        self.kill_switch = KillSwitch()
        self.denials: dict[DenyReason, int] = dict.fromkeys(DenyReason, 0)
        # Throttle as a token bucket in integer nanoseconds.
        self._rate = float(config.max_orders_per_second)
        self._tokens = self._rate
        self._last_ns = 0
        self._rejects: list[int] = []

    def __repr__(self) -> str:
        return f"RiskEngine(state={self.state.value}, kill_switch={self.kill_switch.engaged})"

    # -- the check -----------------------------------------------------------------------

    def check(
        self,
        *,
        symbol: str,
        side: str,
        qty: float,
        price: float | None,
        mid: float | None,
        position: float,
        open_orders: int,
        gross_exposure: float,
        daily_pnl: float,
        now_ns: int,
    ) -> Verdict:
        """Return :data:`APPROVED` or a :class:`Denied`. ``price`` is the limit (None: market)."""
        cfg = self.config
        if self.kill_switch.engaged:
            return self._deny(DenyReason.KILL_SWITCH, self.kill_switch.reason)
        signed = qty if side == "buy" else -qty
        reduces = position != 0 and (position > 0) != (signed > 0) and abs(signed) <= abs(position)
        if self.state is TradingState.HALTED:
            return self._deny(DenyReason.HALTED, self.state_reason)
        if self.state is TradingState.REDUCING and not reduces:
            return self._deny(DenyReason.REDUCING_ONLY, f"position {position}, order {signed:+}")
        # Throttle: refill then take one token.
        if self._last_ns:
            self._tokens = min(
                self._rate, self._tokens + (now_ns - self._last_ns) * self._rate / 1e9
            )
        self._last_ns = now_ns
        if self._tokens < 1.0:
            return self._deny(DenyReason.THROTTLE, f"more than {cfg.max_orders_per_second}/s")
        if open_orders >= cfg.max_open_orders:
            return self._deny(DenyReason.MAX_OPEN_ORDERS, f"{open_orders} open")
        if qty > cfg.max_order_qty:
            return self._deny(DenyReason.MAX_QTY, f"{qty} > {cfg.max_order_qty}")
        ref = price if price is not None else mid
        if ref is None:
            return self._deny(DenyReason.NO_REFERENCE_PRICE, f"no quote for {symbol}")
        notional = qty * ref
        if notional > cfg.max_order_notional:
            return self._deny(DenyReason.MAX_NOTIONAL, f"{notional:.2f} > {cfg.max_order_notional}")
        if price is not None and mid is not None and mid > 0:
            band = abs(price - mid) / mid * 100.0
            if band > cfg.price_band_pct:
                return self._deny(DenyReason.PRICE_BAND, f"{band:.2f}% from mid {mid}")
        if not reduces and abs(position + signed) > cfg.max_position_qty:
            return self._deny(
                DenyReason.MAX_POSITION, f"{position + signed} beyond {cfg.max_position_qty}"
            )
        if not reduces and gross_exposure + notional > cfg.max_gross_exposure:
            return self._deny(
                DenyReason.GROSS_EXPOSURE,
                f"{gross_exposure + notional:.2f} > {cfg.max_gross_exposure}",
            )
        if daily_pnl < -cfg.max_daily_loss and not reduces:
            return self._deny(DenyReason.DAILY_LOSS, f"daily P&L {daily_pnl:.2f}")
        self._tokens -= 1.0
        return APPROVED

    def _deny(self, reason: DenyReason, detail: str) -> Denied:
        self.denials[reason] += 1
        return Denied(reason, detail)

    # -- state changes -------------------------------------------------------------------

    def engage_kill_switch(self, reason: str, now_ns: int) -> None:
        self.kill_switch = KillSwitch(True, reason, now_ns)
        self.halt(f"kill switch: {reason}")

    def halt(self, reason: str) -> None:
        self.state = TradingState.HALTED
        self.state_reason = reason

    def set_state(self, state: TradingState, reason: str = "") -> None:
        if self.kill_switch.engaged and state is not TradingState.HALTED:
            return  # only a restart clears a kill switch
        self.state = state
        self.state_reason = reason

    def on_reject(self, now_ns: int) -> bool:
        """Count a venue rejection; trips the circuit breaker (HALTED) on too many. Returns tripped."""
        window = int(self.config.reject_window_s * 1e9)
        self._rejects = [t for t in self._rejects if now_ns - t < window]
        self._rejects.append(now_ns)
        if len(self._rejects) >= self.config.max_rejects_in_window:
            self.halt(
                f"circuit breaker: {len(self._rejects)} rejects in {self.config.reject_window_s}s"
            )
            return True
        return False

    def on_stale_feed(self, detail: str) -> None:
        """A stale feed makes prices untrustworthy: only reducing orders until it recovers."""
        if self.config.halt_on_stale_feed and self.state is TradingState.ACTIVE:
            self.set_state(TradingState.REDUCING, f"stale feed: {detail}")

    def on_feed_recovered(self) -> None:
        if self.state is TradingState.REDUCING and self.state_reason.startswith("stale feed"):
            self.set_state(TradingState.ACTIVE)
