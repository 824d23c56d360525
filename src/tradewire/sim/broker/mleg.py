"""Alpaca's multi-leg option orders (``order_class: mleg``) on the simulated broker,
sans-I/O (issue 24).

The request (alpaca-py ``OrderRequest`` with ``OptionLegRequest`` legs; reference/
crypto-options.md 3a): ``qty`` (whole units of the strategy), ``type`` market or limit, 2 to 4
``legs`` with unique symbols, each ``{symbol, ratio_qty, side?, position_intent?}`` needing a
side or a position_intent; ``limit_price`` signed, positive a debit (paid per unit), negative
a credit (received). The booking, as the real payload shows it (fixture "MultilegOptions" in
tests/fixtures/alpaca/options/getallorders_examples.json): ONE parent order with ``symbol``,
``side``, ``asset_class`` and ``asset_id`` empty, its legs as child orders with their own ids,
``ratio_qty``, ``position_intent``, ``qty`` = ratio x parent qty, empty ``type``; the parent's
``filled_avg_price`` is the net price per unit (3 x 0.43 - 1 x 0.01 = 1.28), signed as the limit.

The simulator fills every leg together: when the net of the legs' touch prices (buy legs at
the ask, sell legs at the bid, times the ratio) is at or better than (at most) the limit, or
at once for a market order. A partial fill (k of qty units, each leg k x ratio) happens with
the book's ``partial_fill_probability``, as for single orders.

UNCONFIRMED (no primary source): the codes and wording of the refusals below (those alpaca-py
checks itself use its own wording); whether gtc is accepted for mleg (options take gtc since
2026-08-28; accepted here); the legs' status before they fill (the parent's here); a leg's
``expires_at`` (4 PM ET of the day for a day order, as the fixture's; null for gtc); that
each leg's FILL activity carries the leg's own id as ``order_id``; the trade_updates frame of
an mleg order (the simulator sends one event per parent change, with the legs embedded as
``GET /v2/orders`` shows them, qty in units and price the net, and no ``position_qty``); no
check of the position_intent against what is held, nor of the account's options level.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from tradewire.sim.broker.options import find_contract, side_of, whole_contracts
from tradewire.sim.broker.orders import (
    MARKET_COLLAR,
    ZERO,
    Execution,
    OrderError,
    SimOrder,
    _dec,
    asset_id_for,
)
from tradewire.sim.market import NBBO
from tradewire.sim.option_chain import OptionChains

if TYPE_CHECKING:
    from tradewire.sim.broker.matching import SimBook

MLEG_TYPES = frozenset({"market", "limit"})
MLEG_TIFS = frozenset({"day", "gtc"})
MIN_LEGS, MAX_LEGS = 2, 4


def build(
    body: Mapping[str, object],
    chains: OptionChains | None,
    *,
    client_order_id: str,
    new_id: Callable[[], str],
    at: datetime,
) -> tuple[SimOrder, list[SimOrder]]:
    """Validate an mleg ``POST /v2/orders`` body; the parent and its legs, not booked."""
    otype = body.get("type") or body.get("order_type")
    tif = body.get("time_in_force")
    if otype not in MLEG_TYPES:
        raise OrderError(422, 40010001, "mleg order class only supports market and limit orders.")
    if tif not in MLEG_TIFS:
        raise OrderError(422, 40010001, f"invalid time_in_force for mleg orders: {tif!r}")
    if _dec(body.get("notional"), "notional") is not None:
        raise OrderError(422, 40010001, "notional is not supported for the mleg order class")
    if body.get("qty") in (None, ""):
        raise OrderError(422, 40010001, "qty is required for the mleg order class.")
    qty = whole_contracts(body.get("qty"))
    limit = _dec(body.get("limit_price"), "limit_price")
    if otype == "limit":
        if limit is None or limit == 0:
            raise OrderError(422, 40010001, "limit_price is required for limit orders")
        if limit != limit.quantize(Decimal("0.01")):
            raise OrderError(
                422,
                42210000,
                f"invalid limit_price {limit}. sub-penny increment does not fulfill minimum "
                "pricing criteria",
            )
    elif limit is not None:
        raise OrderError(422, 40010001, "limit_price is not supported for market orders")
    raw_legs = body.get("legs")
    if not isinstance(raw_legs, list):
        raise OrderError(422, 40010001, "legs is required for the mleg order class.")
    if len(raw_legs) > MAX_LEGS:
        raise OrderError(422, 40010001, "At most 4 legs are allowed for the mleg order class.")
    if len(raw_legs) < MIN_LEGS:
        raise OrderError(422, 40010001, "At least 2 legs are required for the mleg order class.")
    parent = SimOrder(
        id=new_id(),
        client_order_id=client_order_id,
        symbol="",
        side="",
        type=str(otype),
        time_in_force=str(tif),
        qty=qty,
        limit_price=limit,
        order_class="mleg",
        created_at=at,
        updated_at=at,
        submitted_at=at,
    )
    legs = [_leg(raw, i, parent, chains, new_id) for i, raw in enumerate(raw_legs)]
    if len({leg.symbol for leg in legs}) != len(legs):
        raise OrderError(422, 40010001, "All legs must have unique symbols.")
    return parent, legs


def _leg(
    raw: object,
    index: int,
    parent: SimOrder,
    chains: OptionChains | None,
    new_id: Callable[[], str],
) -> SimOrder:
    where = f"legs[{index}]."
    if not isinstance(raw, dict):
        raise OrderError(422, 40010001, f"legs[{index}] must be an object")
    symbol = raw.get("symbol")
    contract = find_contract(chains, symbol) if isinstance(symbol, str) and symbol else None
    if contract is None:
        raise OrderError(422, 40010001, f'asset "{str(symbol)[:40]}" not found')
    ratio = whole_contracts(raw.get("ratio_qty"), f"{where}ratio_qty")
    side, intent = side_of(raw.get("side"), raw.get("position_intent"), where)
    assert parent.qty is not None
    at = parent.created_at
    return SimOrder(
        id=new_id(),
        client_order_id=new_id(),
        symbol=contract.symbol,
        side=side,
        type="",
        time_in_force=parent.time_in_force,
        qty=parent.qty * ratio,
        order_class="mleg",
        asset_id=asset_id_for(contract.symbol),
        parent_id=parent.id,
        multiplier=contract.multiplier,
        position_intent=intent,
        ratio_qty=ratio,
        created_at=at,
        updated_at=at,
        submitted_at=at,
    )


def _touch(q: NBBO | None, side: str) -> Decimal | None:
    if q is None or q.bid_price <= 0 or q.ask_price <= 0:
        return None
    return Decimal(str(q.ask_price if side == "buy" else q.bid_price))


def net_price(legs: Sequence[SimOrder], quotes: Mapping[str, NBBO]) -> list[Decimal] | None:
    """Each leg's touch price (buy at the ask, sell at the bid), or None while a leg has no
    two-sided quote."""
    prices = []
    for leg in legs:
        price = _touch(quotes.get(leg.symbol), leg.side)
        if price is None:
            return None
        prices.append(price)
    return prices


def _net(legs: Sequence[SimOrder], prices: Sequence[Decimal]) -> Decimal:
    total = ZERO
    for leg, price in zip(legs, prices, strict=True):
        assert leg.ratio_qty is not None
        total += price * leg.ratio_qty if leg.side == "buy" else -price * leg.ratio_qty
    return total


def cost(parent: SimOrder, legs: Sequence[SimOrder], quotes: Mapping[str, NBBO]) -> Decimal:
    """Buying power an open mleg order holds: its debit per unit (the limit, or the market
    net with the collar) x the units left x the multiplier; a credit holds nothing
    (UNCONFIRMED: Alpaca's spread margin is not simulated)."""
    if not legs:
        return ZERO
    per_unit = parent.limit_price
    if per_unit is None:
        prices = net_price(legs, quotes)
        per_unit = _net(legs, prices) * MARKET_COLLAR if prices is not None else ZERO
    return max(per_unit, ZERO) * parent.remaining * legs[0].multiplier


def evaluate(book: SimBook, parent: SimOrder) -> list[Execution]:
    """One look at the legs' quotes for an mleg order: fill every leg together when the net
    is marketable."""
    if not parent.is_open:
        return []
    legs = [book.orders[i] for i in parent.legs]
    prices = net_price(legs, book.quotes)
    if prices is None:
        return []
    net = _net(legs, prices)
    if parent.type == "limit" and parent.limit_price is not None and net > parent.limit_price:
        return []
    units = parent.remaining
    chance = book.partial_fill_probability
    if chance > 0 and units > 1 and book.rng.random() < chance:
        units = Decimal(book.rng.randint(1, int(units) - 1))
    return fill(book, parent, legs, prices, units, net)


def fill(
    book: SimBook,
    parent: SimOrder,
    legs: Sequence[SimOrder],
    prices: Sequence[Decimal],
    units: Decimal,
    net: Decimal,
) -> list[Execution]:
    """Fill ``units`` of the strategy: each leg ``units x ratio`` at its price, atomically."""
    at = parent.updated_at
    for leg, price in zip(legs, prices, strict=True):
        assert leg.ratio_qty is not None
        at, _, _ = book.apply_fill(leg, units * leg.ratio_qty, price)
    prev = parent.filled_qty
    parent.filled_qty = prev + units
    parent.filled_avg_price = (
        net
        if parent.filled_avg_price is None
        else (parent.filled_avg_price * prev + net * units) / parent.filled_qty
    )
    partial = parent.remaining > 0
    parent.status = "partially_filled" if partial else "filled"
    parent.touch(at)
    if not partial:
        parent.filled_at = at
    event = "partial_fill" if partial else "fill"
    return [Execution(event, parent, units, net, None, book.new_execution_id(), at=at)]
