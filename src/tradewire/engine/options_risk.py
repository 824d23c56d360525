"""Pre-trade risk of an order with an option leg (issue 24), single-leg or ``mleg``. Sans-I/O.

The engine core calls :meth:`OptionsRisk.check` for every order that has an option leg (a
single-leg option order is one leg) and :meth:`OptionsRisk.on_filled_premium` with the
premium each fill paid. Limits come from ``risk.options``
(:class:`~tradewire.engine.config.OptionsRiskConfig`); a denial is a
:class:`~tradewire.engine.risk.Denied` with scope ``"options"`` and one line naming its
numbers. The rules, in the order they are checked:

1. **Legs** (``invalid_legs``): 1 leg, or 2–4 legs (Alpaca's ``mleg``), each an OCC symbol,
   each symbol once, side ``buy`` or ``sell``.
2. **Numbers** (``invalid_number``): ``qty`` finite, > 0 and whole, every leg's contracts
   a whole multiple of it (the ratio; options trade in whole contracts); a limit finite (a
   single leg's premium > 0, an mleg's net either sign); every position and working
   quantity read, and every mid used, finite. ``nan < limit`` is False: a NaN would pass.
3. **Naked short calls** (``naked_short``): a sell leg that opens or grows a short call
   (the contract's position, less its working sells, less this leg, below zero) must be
   covered for the whole short of that contract, contract for contract: first by long calls
   of the same underlying with the same or a later expiry — a buy leg of this order, plus
   what its contract already holds less its working sells — then by
   ``multiplier x contracts`` shares of the underlying held (less working sells of it): a
   covered call. A vertical's long leg covers its short leg at ANY strike: the spread's loss
   is then bounded by the strike width, which the worst case (rule 9) counts. Denied unless
   ``allow_naked``. ``position`` answers per symbol, so only the order's own contracts and
   the underlying are seen: a long call held in another contract covers nothing, and shares
   already covering a short call of another contract count again (the broker checks too).
   **Short puts** follow one simple rule: a short put covered the same way by a long put
   (same underlying, same or later expiry) is a spread; an uncovered one is a cash-secured
   put — allowed (level 1), its cash, ``strike x multiplier x contracts``, counted in the
   worst case (rule 9); the account's cash itself is the broker's buying-power check.
4. **Options level** (``options_level``), Alpaca's ``options_trading_level``
   (reference/crypto-options.md 3a): 0 trades no options; a leg that only closes (reduces
   the position without crossing zero, working orders counted) needs 1, a covered call or a
   cash-secured put 1, a buy that opens 2; an order with both buy and sell legs (a spread)
   3, and an uncovered call (``allow_naked``) 3 — Alpaca lists no level for it, so the venue
   may still refuse it. ``level=None`` (unknown: the account did not say) skips this rule.
5. **Contracts per order** (``max_contracts``): each leg's contracts.
6. **Contracts per position** (``max_position``): per contract, ``|held + working on the
   leg's side + this leg|``, unless the leg reduces the position without crossing zero.
7. **Premium per order** (``max_premium``): the net debit x qty x multiplier. The net is
   the limit (a single leg: the premium per share, a debit when buying; an mleg: the signed
   net per unit, > 0 debit) or, for a market order, the legs' mids (buy legs add, sell legs
   subtract, each times its ratio); a credit pays no premium. Legs of different multipliers
   (adjusted contracts) price an mleg limit at the largest for a debit, the smallest for a
   credit.
8. **Premium per day** (``daily_premium``): the premium filled today
   (:meth:`~OptionsRisk.on_filled_premium`) plus this order's debit, over the session day
   ``day`` (a new label starts from zero). Credits give no room back.
9. **Worst case** (``max_notional``, against the options ``max_order_notional``): the
   widest loss of the covered pairs less the credit (or plus the debit), floored at zero,
   plus every cash-secured put's strike and every allowed naked call's underlying mid, each
   ``x multiplier x contracts``. A pair's loss is its strike width when the short is the
   nearer strike (a credit spread), else 0 (a debit spread: its debit is its loss); call
   pairs add up, put pairs add up, and the two sides count as the larger one (an iron
   condor loses on one side) unless their short strikes overlap (then both). Pairs of
   different expiries (diagonals, calendars) are counted by their strikes alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from tradewire import fmt
from tradewire.engine.config import OptionsRiskConfig
from tradewire.engine.options import OptionContract, OptionSymbolError, multiplier_of, parse_occ
from tradewire.engine.verdicts import Denied, DenyReason

_SCOPE = "options"
_MAX_LEGS = 4  # Alpaca's mleg: 2-4 legs


@dataclass(frozen=True, slots=True)
class LegOrder:
    """One leg of the order being checked."""

    symbol: str  # OCC key, Alpaca form
    side: str  # "buy" | "sell"
    contracts: float  # this leg's contracts = order qty x ratio


@dataclass(slots=True)
class _Leg:
    order: LegOrder
    contract: OptionContract
    mult: float
    after: float = 0.0  # the position with this leg and every working order on its side
    reduces: bool = False
    short: float = 0.0  # a short leg: the contract's short after it, to cover
    by_long: float = 0.0
    by_shares: float = 0.0
    shares: float = 0.0  # the underlying's shares free to cover it, when read
    pair_loss: float = 0.0  # USD: its pairs' strike widths (module doc, rule 9)
    supply: float = 0.0  # a long leg: contracts left to cover shorts with


def _deny(reason: DenyReason, detail: str) -> Denied:
    return Denied(reason, detail, scope=_SCOPE)


def _finite(*values: float) -> bool:
    return all(v - v == 0.0 for v in values)  # NaN and +-inf leave no 0.0


def _whole(value: float) -> bool:
    return 0.0 < value < math.inf and value == int(value)


class OptionsRisk:
    """The options limits and the premium paid per session day (its only state)."""

    def __init__(self, config: OptionsRiskConfig) -> None:
        self.config = config
        self._paid: dict[str, float] = {}  # session day -> premium filled (the last two)

    def premium_today(self, day: str) -> float:
        """The premium filled on session day ``day`` (USD)."""
        return self._paid.get(day, 0.0)

    def on_filled_premium(self, day: str, debit_usd: float) -> None:
        """Count premium actually paid (a fill's ``price x qty x multiplier`` of a debit) on
        session day ``day``. A credit (<= 0) counts nothing; a non-finite amount fails
        closed: the day's premium becomes infinite and every debit that day is denied."""
        if not _finite(debit_usd):
            debit_usd = math.inf
        elif debit_usd <= 0.0:
            return
        if day not in self._paid:
            for old in list(self._paid)[: max(len(self._paid) - 1, 0)]:
                del self._paid[old]
        self._paid[day] = self._paid.get(day, 0.0) + debit_usd

    def check(
        self,
        *,
        legs: Sequence[LegOrder],
        limit_price: float | None,
        mids: Mapping[str, float],
        position: Callable[[str], float],
        working: Callable[[str], tuple[float, float]],
        level: int | None,
        day: str,
        qty: float,
    ) -> Denied | None:
        """None to approve, else the :class:`Denied` of the first rule broken (module doc).

        ``limit_price``: a single leg's premium per share, an mleg's signed net per unit
        (> 0 debit, < 0 credit); None for a market order, priced at ``mids`` (by symbol:
        the legs', and the underlying's for an allowed naked call). ``position(symbol)``:
        contracts held (shares for an underlying), short < 0; ``working(symbol)``: the
        working (buy, sell) quantities. ``level``: the account's options trading level,
        None when unknown (the level rule is then skipped). ``day``: the equity session day.
        """
        cfg = self.config
        parsed = _legs(legs, position, working)
        if isinstance(parsed, Denied):
            return parsed
        single = len(parsed) == 1
        if not (
            _whole(qty)  # first: the ratios divide by it
            and all(_whole(leg.order.contracts / qty) for leg in parsed)
            and (limit_price is None or _finite(limit_price))
            and (limit_price is None or not single or limit_price > 0.0)
        ):
            counts = ", ".join(f"{leg.order.contracts}" for leg in parsed)
            return _deny(
                DenyReason.INVALID_NUMBER,
                f"qty {qty}, contracts {counts}, limit {limit_price} (whole contracts > 0)",
            )
        uncovered = _cover(parsed, position, working)
        if uncovered is not None:
            return uncovered
        naked = [leg for leg in parsed if leg.short > leg.by_long + leg.by_shares]
        calls = [leg for leg in naked if leg.contract.right == "call"]
        if calls and not cfg.allow_naked:
            leg = calls[0]
            return _deny(
                DenyReason.NAKED_SHORT,
                f"{leg.order.symbol}: {fmt.qty(leg.short)} short calls, "
                f"{fmt.qty(leg.by_long + leg.by_shares)} covered (by {fmt.qty(leg.by_long)} "
                f"long calls, {fmt.qty(leg.shares)} shares of {leg.contract.underlying})",
            )
        if level is not None:
            need, why = _level(parsed)
            if level < need:
                return _deny(
                    DenyReason.OPTIONS_LEVEL,
                    f"needs options level {need}, the account has {level} ({why})",
                )
        for leg in parsed:
            if leg.order.contracts > cfg.max_contracts_per_order:
                return _deny(
                    DenyReason.MAX_CONTRACTS,
                    f"{leg.order.symbol}: {fmt.qty(leg.order.contracts)} contracts > "
                    f"{cfg.max_contracts_per_order} per order",
                )
        for leg in parsed:
            if not leg.reduces and abs(leg.after) > cfg.max_contracts_per_position:
                return _deny(
                    DenyReason.MAX_POSITION,
                    f"{leg.order.symbol}: {fmt.qty(leg.after)} contracts with working orders, "
                    f"beyond {cfg.max_contracts_per_position}",
                )
        net = _net_usd(parsed, limit_price, mids, qty)
        if isinstance(net, Denied):
            return net
        debit = max(net, 0.0)
        if debit > cfg.max_premium_per_order:
            return _deny(
                DenyReason.MAX_PREMIUM,
                f"debit {fmt.money(debit)} > {fmt.money(cfg.max_premium_per_order)} per order",
            )
        paid = self.premium_today(day)
        if debit > 0.0 and paid + debit > cfg.max_premium_per_day:
            return _deny(
                DenyReason.DAILY_PREMIUM,
                f"paid {fmt.money(paid)} today + debit {fmt.money(debit)} > "
                f"{fmt.money(cfg.max_premium_per_day)} per day",
            )
        worst = _worst_case(parsed, net, naked, mids)
        if isinstance(worst, Denied):
            return worst
        if worst > cfg.max_order_notional:
            return _deny(
                DenyReason.MAX_NOTIONAL,
                f"worst case {fmt.money(worst)} > {fmt.money(cfg.max_order_notional)} per order",
            )
        return None


def _legs(
    legs: Sequence[LegOrder],
    position: Callable[[str], float],
    working: Callable[[str], tuple[float, float]],
) -> list[_Leg] | Denied:
    """The legs parsed, with their positions read and their worst cases computed."""
    if not 1 <= len(legs) <= _MAX_LEGS:
        return _deny(DenyReason.INVALID_LEGS, f"{len(legs)} legs, not 1 to {_MAX_LEGS}")
    if len({leg.symbol for leg in legs}) != len(legs):
        return _deny(DenyReason.INVALID_LEGS, "a symbol in two legs")
    parsed: list[_Leg] = []
    for leg in legs:
        if leg.side not in ("buy", "sell"):
            return _deny(DenyReason.INVALID_LEGS, f"{leg.symbol}: side {leg.side!r}")
        try:
            contract = parse_occ(leg.symbol)
        except OptionSymbolError as exc:
            return _deny(DenyReason.INVALID_LEGS, str(exc))
        held = position(leg.symbol)
        wbuy, wsell = working(leg.symbol)
        if not (_finite(held, wbuy, wsell, leg.contracts) and wbuy >= 0.0 and wsell >= 0.0):
            return _deny(
                DenyReason.INVALID_NUMBER,
                f"{leg.symbol}: contracts {leg.contracts}, position {held}, "
                f"working +{wbuy}/-{wsell}",
            )
        item = _Leg(leg, contract, multiplier_of(contract.symbol))
        if leg.side == "buy":
            item.after = held + wbuy + leg.contracts
            item.reduces = held < 0.0 and item.after <= 0.0
            item.supply = max(held - wsell + leg.contracts, 0.0)
        else:
            item.after = held - wsell - leg.contracts
            item.reduces = held > 0.0 and item.after >= 0.0
            item.short = max(-item.after, 0.0)
        parsed.append(item)
    return parsed


def _cover(
    legs: list[_Leg],
    position: Callable[[str], float],
    working: Callable[[str], tuple[float, float]],
) -> Denied | None:
    """Cover every short leg: long legs first (the latest-expiring short first, each from
    its narrowest pairs: a long eligible for a later expiry is eligible for every earlier
    one, so this covers the most), then, for calls, shares of the underlying."""
    shorts = sorted(
        (leg for leg in legs if leg.short > 0.0),
        key=lambda leg: (
            -leg.contract.expiry.toordinal(),
            leg.contract.strike if leg.contract.right == "call" else -leg.contract.strike,
        ),
    )
    pool: dict[str, float] = {}  # underlying -> shares left to cover calls with
    for short in shorts:
        c = short.contract
        longs = [
            leg
            for leg in legs
            if leg.supply > 0.0
            and leg.contract.underlying == c.underlying
            and leg.contract.right == c.right
            and leg.contract.expiry >= c.expiry
        ]
        longs.sort(key=lambda leg: _width(c, leg.contract))
        for long in longs:
            take = min(long.supply, short.short - short.by_long)
            long.supply -= take
            short.by_long += take
            short.pair_loss += _width(c, long.contract) * short.mult * take
        left = short.short - short.by_long
        if c.right != "call" or left <= 0.0:
            continue
        if c.underlying not in pool:
            held = position(c.underlying)
            sells = working(c.underlying)[1]
            if not _finite(held, sells):
                return _deny(
                    DenyReason.INVALID_NUMBER,
                    f"{c.underlying}: position {held}, working sells {sells}",
                )
            pool[c.underlying] = max(held - sells, 0.0)
        short.shares = pool[c.underlying]
        short.by_shares = min(float(math.floor(short.shares / short.mult)), left)
        pool[c.underlying] -= short.by_shares * short.mult
    return None


def _width(short: OptionContract, long: OptionContract) -> float:
    """Per share, what a pair loses at most beyond its premium: the strike width when the
    long strike is the farther one (a credit spread), else 0."""
    diff = long.strike - short.strike if short.right == "call" else short.strike - long.strike
    return float(diff) if diff > 0 else 0.0


def _level(legs: list[_Leg]) -> tuple[int, str]:
    """The options level the order needs and why (the first leg needing the most)."""
    sides = {leg.order.side for leg in legs}
    if len(sides) == 2:
        return 3, "a spread: buy and sell legs"
    need, why = 1, "close"
    for leg in legs:
        if leg.reduces:
            continue
        if leg.order.side == "buy":
            leg_need, leg_why = 2, "buy to open"
        elif leg.contract.right == "put":
            leg_need, leg_why = 1, "cash-secured put"
        elif leg.short > leg.by_long + leg.by_shares:
            leg_need, leg_why = 3, "naked call"
        else:
            leg_need, leg_why = 1, "covered call"
        if leg_need > need or why == "close":
            need, why = max(need, leg_need), leg_why
    return need, why


def _net_usd(
    legs: list[_Leg], limit_price: float | None, mids: Mapping[str, float], qty: float
) -> float | Denied:
    """The order's signed net in USD: > 0 a debit, < 0 a credit."""
    if limit_price is not None:
        if len(legs) == 1:
            leg = legs[0]
            sign = 1.0 if leg.order.side == "buy" else -1.0
            return sign * limit_price * leg.order.contracts * leg.mult
        mults = [leg.mult for leg in legs]
        return limit_price * qty * (max(mults) if limit_price > 0.0 else min(mults))
    net = 0.0
    for leg in legs:
        mid = mids.get(leg.order.symbol)
        if mid is None:
            return _deny(DenyReason.NO_REFERENCE_PRICE, f"no mid for {leg.order.symbol}")
        if not (_finite(mid) and mid >= 0.0):
            return _deny(DenyReason.INVALID_NUMBER, f"mid {mid} for {leg.order.symbol}")
        sign = 1.0 if leg.order.side == "buy" else -1.0
        net += sign * mid * leg.order.contracts * leg.mult
    return net


def _worst_case(
    legs: list[_Leg], net: float, naked: list[_Leg], mids: Mapping[str, float]
) -> float | Denied:
    """What the order can lose at most, USD (module doc, rule 9)."""
    pairs = [leg for leg in legs if leg.by_long > 0.0]
    calls = [leg for leg in pairs if leg.contract.right == "call"]
    puts = [leg for leg in pairs if leg.contract.right == "put"]
    call_loss = math.fsum(leg.pair_loss for leg in calls)
    put_loss = math.fsum(leg.pair_loss for leg in puts)
    overlap = bool(calls and puts) and min(leg.contract.strike for leg in calls) < max(
        leg.contract.strike for leg in puts
    )
    worst = max((call_loss + put_loss if overlap else max(call_loss, put_loss)) + net, 0.0)
    for leg in naked:
        uncovered = leg.short - leg.by_long - leg.by_shares
        if leg.contract.right == "put":  # cash-secured
            worst += float(leg.contract.strike) * leg.mult * uncovered
            continue
        mid = mids.get(leg.contract.underlying)
        if mid is None:
            return _deny(
                DenyReason.NO_REFERENCE_PRICE,
                f"no mid for {leg.contract.underlying} to count a naked call at",
            )
        if not (_finite(mid) and mid > 0.0):
            return _deny(DenyReason.INVALID_NUMBER, f"mid {mid} for {leg.contract.underlying}")
        worst += mid * leg.mult * uncovered
    return worst
