"""The simulator's option chains and their prices, sans-I/O (issue 24).

The model, stated as the issue asks: **Black-Scholes with one flat implied volatility per
underlying** (default 25 %), no dividends, a flat risk-free rate (default 4 %), priced from the
underlying's current mid on the simulator's clock. American contracts are priced as European
ones (no early-exercise premium): for calls on a non-dividend stock that is exact, for puts it
understates by little at these maturities, and the simulator only needs prices consistent with
the underlying, not a market maker's. The quoted spread is a fixed fraction of the price with a
one-cent minimum; greeks are the model's.

A chain per underlying: expiries on the next ``expiries`` Fridays (the nearest first, so a
test can always reach an expiry), strikes every ``strike_step`` dollars in ``strikes_each_side``
steps either side of the underlying's price at listing, a call and a put at each. Contracts
are listed once (at start-up, from the first price) and keep their strikes as the underlying
moves, as real listings do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tradewire.engine.options import OptionContract, occ_symbol, parse_occ

EASTERN = ZoneInfo("America/New_York")
EXPIRY_CLOSE = time(16, 0)
"""Options stop trading and expire at the 4 PM ET close on their expiry date."""
_YEAR_S = 365.0 * 24 * 3600
_MIN_T = 1.0 / (365.0 * 24 * 60)  # a minute: the price at expiry is the intrinsic value


@dataclass(frozen=True, slots=True)
class ChainSpec:
    """How the simulator lists and prices a chain."""

    expiries: int = 3
    strikes_each_side: int = 5
    strike_step: Decimal = Decimal(5)
    volatility: float = 0.25
    rate: float = 0.04
    spread_fraction: float = 0.02


@dataclass(frozen=True, slots=True)
class OptionPrice:
    """One contract's model value and quote at an underlying price and time."""

    theo: float
    bid: float
    ask: float
    delta: float
    gamma: float
    theta: float
    vega: float
    iv: float


def _norm_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _norm_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def expiry_instant(expiry: date) -> datetime:
    """The moment a contract expiring on ``expiry`` stops trading (4 PM ET), in UTC."""
    return datetime.combine(expiry, EXPIRY_CLOSE, EASTERN).astimezone(UTC)


def years_to_expiry(contract: OptionContract, now: datetime) -> float:
    """Time left in years (0 once expired)."""
    left = (expiry_instant(contract.expiry) - now).total_seconds()
    return max(left, 0.0) / _YEAR_S


def black_scholes(
    contract: OptionContract, spot: float, now: datetime, spec: ChainSpec = ChainSpec()
) -> OptionPrice:
    """The model price, quote and greeks of ``contract`` with the underlying at ``spot``."""
    strike = float(contract.strike)
    t = years_to_expiry(contract, now)
    vol, rate = spec.volatility, spec.rate
    call = contract.right == "call"
    if t < _MIN_T or spot <= 0:
        theo = max(spot - strike, 0.0) if call else max(strike - spot, 0.0)
        delta = (1.0 if spot > strike else 0.0) if call else (-1.0 if spot < strike else 0.0)
        gamma = theta = vega = 0.0
    else:
        root_t = math.sqrt(t)
        d1 = (math.log(spot / strike) + (rate + 0.5 * vol * vol) * t) / (vol * root_t)
        d2 = d1 - vol * root_t
        discount = math.exp(-rate * t)
        if call:
            theo = spot * _norm_cdf(d1) - strike * discount * _norm_cdf(d2)
            delta = _norm_cdf(d1)
            carry = -rate * strike * discount * _norm_cdf(d2)
        else:
            theo = strike * discount * _norm_cdf(-d2) - spot * _norm_cdf(-d1)
            delta = _norm_cdf(d1) - 1.0
            carry = rate * strike * discount * _norm_cdf(-d2)
        gamma = _norm_pdf(d1) / (spot * vol * root_t)
        vega = spot * _norm_pdf(d1) * root_t / 100.0  # per volatility point
        theta = (-(spot * _norm_pdf(d1) * vol) / (2.0 * root_t) + carry) / 365.0  # per day
    half = max(theo * spec.spread_fraction / 2.0, 0.01)
    bid = max(round(theo - half, 2), 0.0)
    ask = max(round(theo + half, 2), 0.01)
    return OptionPrice(theo, bid, ask, delta, gamma, theta, vega, vol)


def listing_day(now: datetime) -> date:
    """The first day whose expiries still trade at ``now``: today until its 4 PM ET close, the
    next day after it (a chain listed on a Friday evening does not list that day's expiry)."""
    local = now.astimezone(EASTERN)
    return local.date() if local.time() < EXPIRY_CLOSE else local.date() + timedelta(days=1)


def listing_fridays(today: date, count: int) -> list[date]:
    """The next ``count`` Fridays on or after ``today`` (today itself if it is a Friday)."""
    first = today + timedelta(days=(4 - today.weekday()) % 7)
    return [first + timedelta(weeks=i) for i in range(count)]


def list_chain(
    underlying: str, spot: float, today: date, spec: ChainSpec = ChainSpec()
) -> list[OptionContract]:
    """The contracts listed for ``underlying`` with its price at ``spot`` on ``today``."""
    step = spec.strike_step
    atm = (Decimal(str(spot)) / step).to_integral_value() * step
    strikes = [atm + step * i for i in range(-spec.strikes_each_side, spec.strikes_each_side + 1)]
    contracts: list[OptionContract] = []
    for expiry in listing_fridays(today, spec.expiries):
        for strike in strikes:
            if strike <= 0:
                continue
            contracts.extend(
                parse_occ(occ_symbol(underlying, expiry, right, strike))
                for right in ("call", "put")
            )
    return contracts


class OptionChains:
    """Every contract the simulator lists, by symbol and by underlying."""

    def __init__(self, spec: ChainSpec = ChainSpec()) -> None:
        self.spec = spec
        self.by_symbol: dict[str, OptionContract] = {}
        self.by_underlying: dict[str, list[OptionContract]] = {}

    def list_underlying(self, underlying: str, spot: float, today: date) -> list[OptionContract]:
        """List ``underlying``'s chain (once; a second call returns the first listing)."""
        root = underlying.strip().upper()
        listed = self.by_underlying.get(root)
        if listed is None:
            listed = self.by_underlying[root] = list_chain(root, spot, today, self.spec)
            for contract in listed:
                self.by_symbol[contract.symbol] = contract
        return listed

    def add(self, contract: OptionContract) -> None:
        """List one contract (a test's or a recording's) beside the generated ones."""
        if contract.symbol not in self.by_symbol:
            self.by_symbol[contract.symbol] = contract
            self.by_underlying.setdefault(contract.underlying, []).append(contract)

    def get(self, symbol: str) -> OptionContract | None:
        return self.by_symbol.get(symbol.strip().upper().removeprefix("O:"))

    def __iter__(self) -> Iterator[OptionContract]:
        return iter(self.by_symbol.values())

    def __len__(self) -> int:
        return len(self.by_symbol)

    def underlyings(self) -> Iterable[str]:
        return self.by_underlying.keys()

    def expiring(self, on: date) -> list[OptionContract]:
        """The contracts that expire on ``on``."""
        return [c for c in self.by_symbol.values() if c.expiry == on]

    def price(self, contract: OptionContract, spot: float, now: datetime) -> OptionPrice:
        return black_scholes(contract, spot, now, self.spec)
