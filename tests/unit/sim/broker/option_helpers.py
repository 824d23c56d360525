"""Shared set-up of the simulated broker's option tests: a SPY chain listed a week ahead."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from tradewire.engine.options import occ_symbol
from tradewire.sim.broker.matching import SimBook
from tradewire.sim.market import NBBO
from tradewire.sim.option_chain import OptionChains, listing_fridays

LISTED_ON = datetime.now(UTC).date() + timedelta(days=7)
EXPIRY = listing_fridays(LISTED_ON, 1)[0]


def chains() -> OptionChains:
    out = OptionChains()
    out.list_underlying("SPY", 500.0, LISTED_ON)
    return out


def sym(right: str, strike: int, expiry: date = EXPIRY) -> str:
    return occ_symbol("SPY", expiry, right, Decimal(strike))


CALL_500 = sym("call", 500)
CALL_510 = sym("call", 510)
PUT_490 = sym("put", 490)


def quote(symbol: str, bid: float, ask: float) -> NBBO:
    return NBBO(symbol, bid, 10, ask, 10, 0)


def book(**kwargs: object) -> SimBook:
    out = SimBook(option_chains=chains(), **kwargs)  # type: ignore[arg-type]
    out.on_quote(quote("SPY", 499.99, 500.01))
    out.on_quote(quote(CALL_500, 4.20, 4.30))
    out.on_quote(quote(CALL_510, 1.00, 1.10))
    out.on_quote(quote(PUT_490, 2.00, 2.10))
    return out


def order(**over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "symbol": CALL_500,
        "qty": "2",
        "side": "buy",
        "type": "limit",
        "limit_price": "4.30",
        "time_in_force": "day",
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}
