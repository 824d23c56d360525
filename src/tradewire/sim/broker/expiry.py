"""Option exercise, assignment and expiry on the simulated broker, sans-I/O (issue 24).

- ``POST /v2/positions/{symbol_or_contract_id}/exercise`` (alpaca-py
  ``exercise_options_position``) exercises every held long contract at once (reference/
  crypto-options.md 3a): a call delivers ``multiplier x contracts`` shares of the underlying
  at the strike (cash down by strike x shares), a put takes them away (cash up); the option
  position goes away. Activity ``OPEXC``.
- At expiry (:func:`expire`), contracts in the money at the underlying's last mid are
  exercised (long: ``OPEXC``) or assigned (short: ``OPASN``; a short call delivers shares
  away, a short put takes them in) at the strike; the rest expire worthless (``OPEXP``). Every
  option position of the expiry goes away. Alpaca auto-exercises ITM contracts at expiry
  (3a, "Exercise"); at the money is not in the money (engine/options.py).

The activity type names are alpaca-py's ``ActivityType`` (OPEXC, OPASN, OPEXP). UNCONFIRMED,
no primary source found: the activities' ``description`` wording, their ``qty`` (the signed
change of the option position here: -2 for 2 long contracts exercised), ``price`` (the
strike) and ``net_amount`` (the cash the delivery moved; 0 for an expiry); that Alpaca posts
no separate FILL for the delivered shares (none here); the 422 for exercising a short
position; an expiring contract whose underlying has no quote is expired worthless here
(the simulator cannot tell it in the money).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from tradewire.engine.options import OptionContract, is_option_symbol, parse_occ
from tradewire.sim.broker.options import find_contract
from tradewire.sim.broker.orders import (
    EASTERN,
    Execution,
    OrderError,
    SimPosition,
    asset_id_for,
    shifted,
)

if TYPE_CHECKING:
    from tradewire.sim.broker.matching import SimBook

DESCRIPTIONS = {
    "OPEXC": "Option Exercise",
    "OPASN": "Option Assignment",
    "OPEXP": "Option Expiry",
}


@dataclass(frozen=True, slots=True)
class OptionActivity:
    """One non-trade option activity as ``GET /v2/account/activities`` reports it."""

    id: str
    activity_type: str  # OPEXC | OPASN | OPEXP
    symbol: str  # the contract
    qty: Decimal  # the option position's signed change, in contracts
    price: Decimal  # the strike
    net_amount: Decimal  # cash moved by the delivery
    at: datetime


def _contract(book: SimBook, symbol: str) -> OptionContract | None:
    found = find_contract(book.options, symbol)
    if found is None and is_option_symbol(symbol):
        found = parse_occ(symbol)
    return found


def exercise(book: SimBook, symbol_or_id: str) -> OptionActivity:
    """Exercise every held long contract of ``symbol_or_id`` now."""
    contract = _contract(book, symbol_or_id)
    pos = book.positions.get(contract.symbol) if contract is not None else None
    if contract is None or pos is None:
        raise OrderError(404, 40410000, "position does not exist")
    if pos.qty <= 0:
        raise OrderError(422, 40010001, f"cannot exercise a short position in {contract.symbol}")
    return _settle(book, contract, pos, "OPEXC")


def expire(book: SimBook, on: date) -> list[OptionActivity]:
    """Settle every option position whose contract expires on or before ``on``."""
    out: list[OptionActivity] = []
    for symbol, pos in list(book.positions.items()):
        contract = _contract(book, symbol)
        if contract is None or contract.expiry > on:
            continue
        mid = book.mark(contract.underlying)
        if mid is not None and contract.in_the_money(mid):
            out.append(_settle(book, contract, pos, "OPEXC" if pos.qty > 0 else "OPASN"))
        else:
            del book.positions[symbol]
            out.append(_record(book, "OPEXP", contract, -pos.qty, Decimal(0)))
    return out


def _settle(book: SimBook, contract: OptionContract, pos: SimPosition, kind: str) -> OptionActivity:
    # Long call / short put: shares come in; long put / short call: shares go out.
    shares = pos.qty * contract.multiplier
    delta = shares if contract.right == "call" else -shares
    cash = -delta * contract.strike
    book.cash += cash
    underlying = book.positions.get(contract.underlying)
    if underlying is None:
        underlying = book.positions[contract.underlying] = SimPosition(
            contract.underlying, asset_id=asset_id_for(contract.underlying)
        )
    underlying.qty = shifted(underlying, delta, contract.strike)
    if underlying.qty == 0:
        del book.positions[contract.underlying]
    del book.positions[contract.symbol]
    return _record(book, kind, contract, -pos.qty, cash)


def _record(
    book: SimBook, kind: str, contract: OptionContract, qty: Decimal, cash: Decimal
) -> OptionActivity:
    at = book.clock()
    day = at.astimezone(EASTERN).date()
    activity = OptionActivity(
        id=f"{day:%Y%m%d}000000000::{book.new_execution_id()}",
        activity_type=kind,
        symbol=contract.symbol,
        qty=qty,
        price=contract.strike,
        net_amount=cash,
        at=at,
    )
    book.option_activities.append(activity)
    return activity


def expire_orders(book: SimBook, on: date) -> list[Execution]:
    """End every open order in a contract expiring on or before ``on`` (an mleg order with
    any such leg) as ``expired``, as the venue ends them at the close: an order in an expired
    contract can never fill. UNCONFIRMED: ``expired`` rather than ``canceled`` (the event
    that exists for an order whose time ran out)."""
    execs: list[Execution] = []

    def ends(symbol: str) -> bool:
        contract = _contract(book, symbol) if is_option_symbol(symbol) else None
        return contract is not None and contract.expiry <= on

    for order in list(book.orders.values()):
        if not order.is_open or order.parent_id is not None:
            continue
        legs = [c for c in book.orders.values() if c.parent_id == order.id]
        symbols = [c.symbol for c in legs] if order.order_class == "mleg" else [order.symbol]
        if any(ends(s) for s in symbols):
            for leg in legs:
                if leg.is_open:
                    book._finish(leg, "expired", quiet=True)
            execs.extend(book._finish(order, "expired"))
    return execs
