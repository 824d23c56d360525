"""Multi-leg options orders: one order to the engine, whose legs are positions. Sans-I/O.

Alpaca's ``mleg`` order (reference/crypto-options.md 3a; the fixture
``getallorders_examples.json`` "MultilegOptions") is one order with one client_order_id: its
``symbol`` and ``side`` are empty, its ``qty`` counts units of the combination, its
``filled_avg_price`` is the net per unit (``3 x 0.43 - 1 x 0.01 = 1.28``), and its ``legs``
are child orders, each with its own symbol, side, ``ratio_qty``, ``qty`` (ratio x units)
and ``filled_qty``/``filled_avg_price``. So the engine keeps ONE row in the order table
(status and units filled at the net price) and books positions per leg, from the legs'
cumulative figures: a leg's fill is what its cumulative quantity adds to what the engine
holds of it, at the price that makes the engine's average the broker's (the rule
:class:`~tradewire.engine.orders.PartialFill` follows for a single order). A fact that
repeats changes nothing; one that arrives by a second route books only what is missing.

A fact about the parent without its legs' figures (an activity, an event with no legs)
moves the parent's row but books no leg: a leg's price is never guessed. The reconciler then
finds the positions short of the broker's and asks for the order with its legs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from tradewire.engine.instruments import InstrumentError, asset_class_of, instrument_key

if TYPE_CHECKING:
    from tradewire.engine.orders import Applied
    from tradewire.engine.positions import PositionBook

INTENT_SIDES: dict[str, str] = {
    "buy_to_open": "buy",
    "buy_to_close": "buy",
    "sell_to_open": "sell",
    "sell_to_close": "sell",
}
MIN_LEGS, MAX_LEGS = 2, 4
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Leg:
    """One leg of a multi-leg order: an option contract, a whole ratio, and a side
    (``buy``/``sell``) or a position intent (``buy_to_open`` …), or both agreeing.

    ``Leg("SPY260731C00400000", 1, "buy")``: one contract per unit of the order, bought.
    """

    symbol: str
    ratio: int = 1
    side: str | None = None
    intent: str | None = None

    @property
    def resolved_side(self) -> str:
        """``buy``/``sell``: the side, else the intent's."""
        return self.side or INTENT_SIDES.get(self.intent or "", "")


@dataclass(frozen=True, slots=True)
class LegFill:
    """The broker's cumulative figures for one leg: contracts filled and their average."""

    symbol: str
    filled_qty: float
    avg_price: float


@dataclass(frozen=True, slots=True)
class LegBooking:
    """What one fact books on one leg's position: contracts at a per-share price."""

    symbol: str
    side: str
    qty: float
    price: float


def normalize_legs(legs: Sequence[Leg]) -> tuple[Leg, ...]:
    """The legs with their symbols as instrument keys and their sides resolved.

    Raises:
        ValueError: naming the leg: not 2–4 legs, a repeated or non-option symbol, a ratio
            that is no whole number >= 1, a side and intent that disagree or are both absent.
    """
    if not MIN_LEGS <= len(legs) <= MAX_LEGS:
        raise ValueError(f"a multi-leg order has {MIN_LEGS} to {MAX_LEGS} legs, got {len(legs)}")
    out: list[Leg] = []
    seen: set[str] = set()
    for n, leg in enumerate(legs, 1):
        if not isinstance(leg, Leg):
            raise ValueError(f"leg {n} is not a Leg: {leg!r}"[:120])
        try:
            key = instrument_key(leg.symbol)
        except InstrumentError as exc:
            raise ValueError(f"leg {n}: {exc}") from None
        if asset_class_of(key) != "us_option":
            raise ValueError(f"leg {n}: {leg.symbol[:40]!r} is not an option contract")
        if key in seen:
            raise ValueError(f"leg {n}: {key} repeats: every leg needs its own symbol")
        seen.add(key)
        if isinstance(leg.ratio, bool) or not isinstance(leg.ratio, int) or leg.ratio < 1:
            raise ValueError(f"leg {n}: ratio must be a whole number >= 1, got {leg.ratio!r}")
        if leg.intent is not None and leg.intent not in INTENT_SIDES:
            raise ValueError(f"leg {n}: intent must be one of {sorted(INTENT_SIDES)}")
        if leg.side is not None and leg.side not in ("buy", "sell"):
            raise ValueError(f"leg {n}: side must be 'buy' or 'sell', got {leg.side!r}")
        side = leg.resolved_side
        if not side:
            raise ValueError(f"leg {n}: give a side or an intent")
        if leg.side is not None and leg.intent is not None and INTENT_SIDES[leg.intent] != side:
            raise ValueError(f"leg {n}: side {leg.side} contradicts intent {leg.intent}")
        out.append(Leg(key, leg.ratio, side, leg.intent))
    return tuple(out)


def combo_symbol(legs: Sequence[Leg]) -> str:
    """The label the order table, handles and reports show for a multi-leg order: its legs'
    symbols joined by ``+`` (no position is ever keyed by it)."""
    return "+".join(leg.symbol for leg in legs)


def net_price(legs: Sequence[Leg], prices: Sequence[float]) -> float:
    """The net per unit of a combination at one price per leg: buy legs add, sell legs
    subtract, each times its ratio (positive: a debit, negative: a credit)."""
    total = 0.0
    for leg, price in zip(legs, prices, strict=True):
        total += leg.ratio * price if leg.resolved_side == "buy" else -leg.ratio * price
    return total


def leg_bookings(
    legs: Sequence[Leg], held: list[list[float]], facts: Sequence[LegFill]
) -> list[LegBooking]:
    """What the broker's cumulative leg figures add to ``held`` (per leg ``[qty, avg]``, the
    engine's; updated in place), as bookings. A fact for no leg of the order, or a
    non-finite or non-positive figure, books nothing; a cumulative quantity behind ours
    books nothing (ours came by another route)."""
    bookings: list[LegBooking] = []
    index = {leg.symbol: i for i, leg in enumerate(legs)}
    for fact in facts:
        i = index.get(fact.symbol)
        qty, avg = fact.filled_qty, fact.avg_price
        if i is None or not (0.0 < qty < float("inf") and 0.0 < avg < float("inf")):
            continue
        have_qty, have_avg = held[i]
        missing = qty - have_qty
        if missing <= _EPS:
            continue
        price = (avg * qty - have_avg * have_qty) / missing
        if not price > 0.0:
            price = avg  # rounding at the broker: book at its average rather than below 0
        held[i] = [qty, avg]
        bookings.append(LegBooking(legs[i].symbol, legs[i].resolved_side, missing, price))
    return bookings


def with_leg_bookings(applied: Applied, event: object) -> Applied:
    """``applied`` with what ``event``'s leg figures book on a multi-leg order's legs (the
    order's ``leg_held`` moves with them); unchanged for any other order or event."""
    order = applied.order
    facts: tuple[LegFill, ...] = getattr(event, "legs", ())
    if not order.legs or not facts:
        return applied
    if not order.leg_held:
        order.leg_held = [[0.0, 0.0] for _ in order.legs]
    bookings = leg_bookings(order.legs, order.leg_held, facts)
    return replace(applied, legs=tuple(bookings)) if bookings else applied


def book_applied(book: PositionBook, applied: Applied) -> None:
    """Book one applied change's fills: a multi-leg order's on each leg's position, any
    other order's on its symbol."""
    order = applied.order
    if order.legs:
        for b in applied.legs:
            book.apply_fill(b.symbol, b.side, b.qty, b.price)
    elif applied.fill_qty:
        book.apply_fill(order.symbol, order.side, applied.fill_qty, applied.fill_price)
