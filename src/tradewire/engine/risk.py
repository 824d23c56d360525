"""Pre-trade risk: a synchronous function that returns a verdict (after nautilus' RiskEngine).

Checks run cheapest first: kill switch, trading state, numbers, throttle, open orders,
size, notional, price band, position, gross exposure, daily loss.

Risk sees exposure, not only fills (DESIGN.md, the first rule): every working order counts
as if it fills. Position limits take the worst case on each side (position plus working
buys, position minus working sells); "reducing" means the order, with every working order
on its side, moves the position toward zero without crossing it; gross exposure adds the
notional of every working order. With no reference price there is no price-sensitive order,
and a non-finite or non-positive number anywhere is a denial: ``nan < limit`` is False, so
an unchecked NaN would pass every limit.

Per asset class (issue 23): an order in a crypto pair (a symbol with ``/``) takes its size,
notional and daily-loss limits from ``RiskConfig.crypto`` — quantities in units of the asset,
money in USD — and its daily loss is the pairs' P&L since the crypto day began
(:class:`~tradewire.engine.session.CryptoDayClock`, UTC midnight by default), not the
equity session's. Open orders, the throttle, the price band and gross exposure stay the
account's: crypto exposure counts in the one gross exposure. A crypto denial names its rule
(``max_qty (crypto): 5 > 1``) under the same reason. The stock path pays one ``"/" in symbol``.

The approve path returns the
module constant :data:`APPROVED`: it neither allocates nor logs. A denial is a
:class:`Denied` with a reason; the node journals and counts it, and the order never leaves.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from tradewire import fmt
from tradewire.engine.config import RiskConfig
from tradewire.engine.multileg import Leg
from tradewire.engine.options import multiplier_of
from tradewire.engine.options_risk import LegOrder, OptionsRisk
from tradewire.engine.risk_rules import CODES, MODE, LimitsRow, RiskCoreLike, make_risk_core
from tradewire.engine.session import CryptoDayClock
from tradewire.engine.verdicts import APPROVED, Denied, DenyReason, Verdict

__all__ = ["APPROVED", "Denied", "DenyReason", "RiskEngine", "TradingState", "Verdict"]


class TradingState(enum.Enum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"  # only orders that shrink a position
    HALTED = "HALTED"


@dataclass(frozen=True, slots=True)
class _Limits:
    """The limits one asset class's order is checked against (the shared ones copied in)."""

    scope: str
    pnl_label: str
    max_open_orders: int
    max_orders_per_second: float
    max_order_qty: float
    max_order_notional: float
    price_band_pct: float
    max_position_qty: float
    max_gross_exposure: float
    max_daily_loss: float

    @classmethod
    def of(cls, config: RiskConfig, *, crypto: bool, own_day: bool = False) -> _Limits:
        own = config.crypto if crypto else config
        return cls(
            "crypto" if crypto else "",
            "crypto day P&L" if own_day else "daily P&L",
            config.max_open_orders,
            config.max_orders_per_second,
            own.max_order_qty,
            own.max_order_notional,
            config.price_band_pct,
            own.max_position_qty,
            config.max_gross_exposure,
            own.max_daily_loss,
        )

    def row(self) -> LimitsRow:
        """The numbers the rules compare, in the native core's order (risk_rules.LimitsRow)."""
        return (
            float(self.max_open_orders),
            self.max_order_qty,
            self.max_order_notional,
            self.price_band_pct,
            self.max_position_qty,
            self.max_gross_exposure,
            self.max_daily_loss,
        )


@dataclass(slots=True)
class KillSwitch:
    engaged: bool = False
    reason: str = ""
    at_ns: int = 0


class RiskEngine:
    """Holds the limits and the little state the checks need (throttle, reject streak).

    Positions, exposure and P&L are read through the callables given at construction, so
    the engine has one source of truth (the position book) and nothing to keep in sync.

    ``crypto_pnl`` gives the crypto pairs' realized plus unrealized P&L (e.g.
    ``partial(crypto_pnl, book.positions)``); the host calls :meth:`roll_crypto_day` with the
    wall time (as it rolls the equity session), and a crypto order's daily loss is that P&L
    since the crypto day began. Without it a crypto order reads the ``daily_pnl`` given.
    """

    def __init__(
        self,
        config: RiskConfig,
        *,
        crypto_pnl: Callable[[], float] | None = None,
        native: bool | None = None,
    ) -> None:
        self.config = config
        self._stock = _Limits.of(config, crypto=False)
        self._crypto = _Limits.of(config, crypto=True, own_day=crypto_pnl is not None)
        self.crypto_pnl = crypto_pnl
        self.crypto_day = CryptoDayClock(config.crypto.day_starts_utc_hour)
        self.crypto_day_start_pnl = 0.0
        self.state = TradingState.ACTIVE
        self.state_reason = ""
        self.kill_switch = KillSwitch()
        self.options = OptionsRisk(config.options)  # the rules of option legs (issue 24)
        self.denials: dict[DenyReason, int] = dict.fromkeys(DenyReason, 0)
        # The rules and their state (the throttle's token bucket, the mode): native when
        # this process has the extension (engine/native), else their Python twin.
        self._rate = float(config.max_orders_per_second)
        self.core: RiskCoreLike = make_risk_core(
            self._stock.row(), self._crypto.row(), self._rate, native=native
        )
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
        working: list[float] | None = None,
        working_notional: float = 0.0,
        notional: float = 0.0,
    ) -> Verdict:
        """Return :data:`APPROVED` or a :class:`Denied`.

        ``price`` is the limit (None: market); ``mid`` the reference price (None: none yet);
        ``working`` the open, unfilled quantity of this symbol as ``[buy, sell]`` (None:
        none), ``working_notional`` that of every working order of the account.
        ``notional`` (dollars, ``qty`` then 0): a notional order, checked at that USD value
        against the notional and exposure limits, its units estimated at the reference price
        for the quantity and position limits.

        The rules are :attr:`core`'s (native or its Python twin, :mod:`risk_rules`); this
        gathers their numbers and words a denial.
        """
        crypto = "/" in symbol
        if crypto and self.crypto_pnl is not None:  # a crypto pair: its own day
            daily_pnl = self.crypto_pnl() - self.crypto_day_start_pnl
        working_buy, working_sell = (0.0, 0.0) if working is None else working
        code = self.core.check(
            crypto,
            side == "buy",
            qty,
            price,
            mid,
            position,
            open_orders,
            gross_exposure,
            daily_pnl,
            now_ns,
            working_buy,
            working_sell,
            working_notional,
            notional,
            multiplier_of(symbol),
        )
        if not code:
            return APPROVED
        return self.explain(
            code,
            symbol=symbol,
            side=side,
            qty=qty,
            price=price,
            mid=mid,
            position=position,
            open_orders=open_orders,
            gross_exposure=gross_exposure,
            daily_pnl=daily_pnl,
            working=(working_buy, working_sell),
            working_notional=working_notional,
            notional=notional,
        )

    def explain(
        self,
        code: int,
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
        working: tuple[float, float],
        working_notional: float,
        notional: float,
    ) -> Denied:
        """The denial for a rule's ``code`` (from :attr:`core`), in one line; counted.

        Off the approve path: it recomputes the figures the rule compared.
        """
        reason = CODES[code - 1]
        cfg = self._crypto if "/" in symbol else self._stock
        if notional and mid:
            qty = notional / mid  # units at the reference price
        working_buy, working_sell = working
        signed = qty if side == "buy" else -qty
        after = position + working_buy + qty if side == "buy" else position - working_sell - qty
        account = self._account_denial(reason, open_orders)
        if account is not None:
            return account
        if reason is DenyReason.NO_REFERENCE_PRICE:
            return self._deny(reason, f"no reference price for {symbol}")
        if reason is DenyReason.INVALID_NUMBER:
            return self._deny(
                reason,
                f"qty {qty}, price {price}, reference {mid}, position {position}, "
                f"exposure {gross_exposure}, {cfg.pnl_label} {daily_pnl}",
            )
        if reason is DenyReason.REDUCING_ONLY:
            return self._deny(
                reason,
                f"position {fmt.qty(position)}, working +{fmt.qty(working_buy)}/-{fmt.qty(working_sell)}, "
                f"order {'+' if signed > 0 else ''}{fmt.qty(signed)}",
            )
        if reason is DenyReason.MAX_QTY:
            return self._deny(reason, f"{fmt.qty(qty)} > {fmt.qty(cfg.max_order_qty)}", cfg.scope)
        assert mid is not None  # every rule below has a reference price
        if not notional:  # an option's through its multiplier (100 shares a contract)
            notional = qty * (price if price is not None and price > mid else mid)
            notional *= multiplier_of(symbol)
        if reason is DenyReason.MAX_NOTIONAL:
            return self._deny(
                reason, f"{fmt.money(notional)} > {fmt.money(cfg.max_order_notional)}", cfg.scope
            )
        if reason is DenyReason.PRICE_BAND:
            assert price is not None
            band = abs(price - mid) / mid * 100.0
            return self._deny(reason, f"{band:.2f}% from reference {fmt.price(mid)}")
        if reason is DenyReason.MAX_POSITION:
            return self._deny(
                reason,
                f"{fmt.qty(after)} with working orders, beyond {fmt.qty(cfg.max_position_qty)}",
                cfg.scope,
            )
        if reason is DenyReason.GROSS_EXPOSURE:
            exposure = gross_exposure + working_notional + notional
            return self._deny(
                reason,
                f"{fmt.money(exposure)} with working orders > {fmt.money(cfg.max_gross_exposure)}",
            )
        return self._deny(
            reason,
            f"{cfg.pnl_label} {fmt.money(daily_pnl, signed=True)}, "
            f"limit -{fmt.money(cfg.max_daily_loss)}",
            cfg.scope,
        )

    def check_gate(self, *, now_ns: int, open_orders: int) -> Verdict:
        """The account's rules that an order of any shape meets first (a multi-leg order,
        whose legs :meth:`check_options` then checks): the kill switch, a halt, reducing
        only (a combination is never known to reduce), the throttle (a token is taken) and
        the open-order count."""
        code = self.core.gate(now_ns, open_orders)
        if not code:
            return APPROVED
        reason = CODES[code - 1]
        account = self._account_denial(reason, open_orders)
        if account is not None:
            return account
        return self._deny(reason, "a multi-leg order is not reduce-only")

    def _account_denial(self, reason: DenyReason, open_orders: int) -> Denied | None:
        """The words of the account's own rules (kill switch, halt, throttle, open orders),
        which an order of any shape meets; None for the others."""
        if reason is DenyReason.KILL_SWITCH:
            return self._deny(reason, self.kill_switch.reason)
        if reason is DenyReason.HALTED:
            return self._deny(reason, self.state_reason)
        if reason is DenyReason.THROTTLE:
            return self._deny(reason, f"more than {fmt.qty(self.config.max_orders_per_second)}/s")
        if reason is DenyReason.MAX_OPEN_ORDERS:
            return self._deny(reason, f"{open_orders} open")
        return None

    def check_options(
        self,
        *,
        legs: Sequence[Leg],
        qty: float,
        limit_price: float | None,
        mids: Mapping[str, float],
        position: Callable[[str], float],
        working: Callable[[str], tuple[float, float]],
        level: int | None,
        day: str,
    ) -> Verdict:
        """The options rules (:mod:`tradewire.engine.options_risk`) for an order with option
        legs: a single-leg option order is one leg of ratio 1."""
        orders = [LegOrder(leg.symbol, leg.resolved_side, qty * leg.ratio) for leg in legs]
        denied = self.options.check(
            legs=orders,
            limit_price=limit_price,
            mids=mids,
            position=position,
            working=working,
            level=level,
            day=day,
            qty=qty,
        )
        if denied is None:
            return APPROVED
        self.denials[denied.reason] += 1
        return denied

    def refill(self) -> None:
        """A full throttle bucket: for a twin engine that only keeps the check warm."""
        self.core.tokens = self._rate

    @property
    def tokens(self) -> float:
        """The throttle's tokens left (orders it lets through at once)."""
        return self.core.tokens

    def _deny(self, reason: DenyReason, detail: str, scope: str = "") -> Denied:
        self.denials[reason] += 1
        return Denied(reason, detail, scope)

    def roll_crypto_day(self, now_s: float) -> bool:
        """Start a new crypto day when ``now_s`` (wall time, Unix seconds) is past its start.

        The crypto daily P&L then counts from the pairs' P&L at that moment. The first call
        only records the day (as the equity session does: the day's P&L counts from the
        book's start). Returns whether a new day began.
        """
        if not self.crypto_day.new_day(now_s):
            return False
        self.crypto_day_start_pnl = self.crypto_pnl() if self.crypto_pnl is not None else 0.0
        return True

    # -- state changes -------------------------------------------------------------------

    def engage_kill_switch(self, reason: str, now_ns: int) -> None:
        self.kill_switch = KillSwitch(True, reason, now_ns)
        self.halt(f"kill switch: {reason}")

    def hold_kill(self, reason: str) -> None:
        """A kill found in the journal at start: engaged, the state left as it is."""
        self.kill_switch.engaged = True
        self.kill_switch.reason = reason
        self.core.mode = MODE["KILLED"]

    def halt(self, reason: str) -> None:
        self.set_state(TradingState.HALTED, reason)

    def set_state(self, state: TradingState, reason: str = "") -> None:
        if self.kill_switch.engaged and state is not TradingState.HALTED:
            return  # only a restart clears a kill switch
        self.state = state
        self.state_reason = reason
        self.core.mode = MODE["KILLED"] if self.kill_switch.engaged else MODE[state.value]

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
