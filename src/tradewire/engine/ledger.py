"""The one outcome path: every fact about an order goes through :meth:`Ledger.apply`.

REST replies, trade_updates, lookups by client_order_id, start-up recovery, reconciliation
after a stream gap and the periodic reconciler all turn what they learned into engine
events (:mod:`tradewire.engine.translate`) and hand them here. One function then moves the
order state machine, journals the event it took (:mod:`tradewire.engine.journal.codec`),
books the fill in the position book and tells the owner. Before this module, an order's outcome
reached the state by five routes, and a fill booked by gap reconciliation never reached
the position book.

What the engine believes about no single order (a position corrected to the broker's figure,
a denial, a new session, the kill switch) is an event too (:mod:`tradewire.engine.events`),
taken by :meth:`Ledger.record`: applied to the book, journaled by the same codec, rebuilt
by the same replay.

Peer input is validated by the state machine before it touches anything (non-finite,
non-positive and overfilled fills raise :class:`~tradewire.engine.orders.InvalidFill`);
a refused event is counted and logged, never booked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from tradewire.engine import events as ev
from tradewire.engine import orders as o
from tradewire.engine.journal.codec import encode, encode_belief, legs_data, order_data
from tradewire.engine.journal.store import Journal
from tradewire.engine.multileg import Leg, book_applied, normalize_legs, with_leg_bookings
from tradewire.engine.options import multiplier_of
from tradewire.engine.positions import PositionBook
from tradewire.engine.settlement import settle
from tradewire.engine.translate import OrderFact

log = logging.getLogger(__name__)

_INF = float("inf")
AppliedHook = Callable[[o.OrderEvent, o.Applied, str], None]
"""``hook(event, applied, kind)``: ``kind`` is the journal record kind the event was written as."""
LinkedHook = Callable[[o.Order, o.Order], None]
"""``hook(replacement, original)``: an adopted order replaced one of ours."""


class Ledger:
    """The order table, the position book and the journal, changed together or not at all."""

    def __init__(
        self,
        oms: o.OrderManager,
        book: PositionBook,
        journal: Journal,
        *,
        on_applied: AppliedHook | None = None,
        on_linked: LinkedHook | None = None,
    ) -> None:
        self.oms = oms
        self.book = book
        self.journal = journal
        self.on_applied = on_applied
        self.on_linked = on_linked
        self.fills = 0
        self.refused = 0
        self.invalid_transitions = 0
        self.corrections = 0  # PositionCorrected recorded
        self.fees = 0  # FeeCharged booked
        # Activity ids booked (fees and option settlements; from replay, booked before): one
        # activity books once.
        self.fee_ids: set[str] = set()
        self.settlements = 0  # OptionSettled booked
        # ``hook(settlement, shares)`` after one is booked: cash pays for delivered shares.
        self.on_settled: Callable[[ev.OptionSettled, float], None] | None = None
        # ``hook(fee)`` after a fee is booked: the account's cash pays a dollar fee.
        self.on_fee: Callable[[ev.FeeCharged], None] | None = None

    def __repr__(self) -> str:
        return f"Ledger(orders={len(self.oms.orders)}, open={self.oms.open_count})"

    def create(self, order: o.Order, *, kind: str = "intent", **extra: Any) -> o.Order:
        """Add an order (``intent``: ours, before its bytes leave; ``external``: found at the broker)."""
        self.oms.create(order)
        self.journal.append(kind, order.client_order_id, order_data(order, **extra))
        return order

    def adopt_external(self, fact: OrderFact, *, ref_price: float) -> bool:
        """Add an order placed outside the engine (the kill switch's flatten, the Alpaca
        dashboard, another tool): the account's positions and exposure include it.

        A replacement of one of our orders (``replaces`` names its broker id) is not
        foreign: it keeps the original's strategy, the original ends ``replaced`` (the
        replacement exists, so the original cannot work any more; unless the replacement
        was ``rejected``: ``order_replace_rejected``), and ``on_linked``
        tells the owner. A notional order (``qty`` null at the venue) is adopted with its
        notional; its quantity is known as it fills.

        Returns False, adding nothing, when the fact cannot describe a countable order
        (no symbol, neither a quantity nor a notional, a side that is neither buy nor sell).
        """
        sized = 0.0 < fact.qty < _INF or (fact.qty == 0.0 and 0.0 < fact.notional < _INF)
        if not fact.symbol or not sized or fact.side not in ("buy", "sell"):
            return False
        legs: tuple[Leg, ...] = ()
        if fact.legs:
            try:  # a multi-leg order's legs must be what one of ours could be
                legs = normalize_legs(fact.legs)
            except ValueError:
                return False
            # Dollars per unit (the label's multiplier is 1), as multileg_submit counts it.
            ref_price = abs(fact.limit_price or fact.filled_avg_price) * multiplier_of(
                legs[0].symbol
            )
        original = self.oms.by_broker_id.get(fact.replaces) if fact.replaces else None
        order = o.Order(
            fact.client_order_id,
            fact.symbol,
            fact.side,
            fact.qty,
            fact.order_type,
            fact.limit_price,
            strategy=original.strategy if original is not None else "external",
            created_ns=self.journal.clock(),
            ref_price=ref_price if legs else fact.limit_price or ref_price,
            notional=fact.notional if fact.qty == 0.0 else 0.0,
            legs=legs,
        )
        extra: dict[str, Any] = {"broker_id": fact.broker_id}
        if original is not None:
            extra["replaces"] = original.client_order_id
        self.create(order, kind="external", **extra)
        if original is not None:
            if fact.status != "rejected":  # a refused replace leaves the original working
                self.apply(original.client_order_id, o.Replaced(fact.broker_id))
            if self.on_linked is not None:
                self.on_linked(order, original)
        return True

    def create_intent(self, order: o.Order, time_in_force: str) -> None:
        """The hot path's :meth:`create`: one dict, one clock read (see codec.order_data).

        ``ref`` is written only when it is not the limit (codec.order_from falls back to it).
        """
        now = self.journal.clock()
        order.created_ns = now
        self.oms.create(order)
        data = {
            "symbol": order.symbol,
            "side": order.side,
            "qty": order.qty,
            "type": order.order_type,
            "limit": order.limit_price,
            "strategy": order.strategy,
            "tif": time_in_force,
        }
        if order.ref_price != order.limit_price:
            data["ref"] = order.ref_price
        if order.notional:
            data["notional"] = order.notional  # a notional order: qty is 0 (codec.order_from)
        if order.legs:
            data["legs"] = legs_data(order)  # a multi-leg order (codec.order_from)
        self.journal.append("intent", order.client_order_id, data, ts_ns=now)

    def book_intent(self, order: o.Order, ts_ns: int, frame: Callable[[], bytes] | None) -> None:
        """:meth:`create_intent` for an order whose intent record the native order path
        wrote (at ``ts_ns``) before its bytes left: the OMS books it after the write."""
        order.created_ns = ts_ns
        self.oms.create(order)
        self.journal.noted(frame)

    def apply(self, cid: str, event: o.OrderEvent) -> o.Applied | None:
        """Apply one fact; returns what changed, or ``None`` when it was refused or unknown."""
        oms = self.oms
        if cid not in oms.orders:
            return None
        try:
            applied = oms.apply(cid, event)
        except o.InvalidFill as exc:
            self.refused += 1
            log.warning("refused a fill: %s", exc)
            return None
        except o.InvalidTransition as exc:
            self.invalid_transitions += 1
            log.warning("order state: %s", exc)
            return None
        if applied.order.legs:
            applied = with_leg_bookings(applied, event)
        if not applied.changed:
            return applied
        kind, data = encode(event)
        self.journal.append(kind, cid, data)
        if applied.fill_qty or applied.legs:
            self.fills += 1
            book_applied(self.book, applied)
        hook = self.on_applied
        if hook is not None:
            hook(event, applied, kind)
        return applied

    def apply_all(self, cid: str, events: list[o.OrderEvent]) -> float:
        """Apply several facts about one order; returns the quantity they filled."""
        filled = 0.0
        for event in events:
            applied = self.apply(cid, event)
            if applied is not None:
                filled += applied.fill_qty
        return filled

    def record(self, event: ev.LedgerEvent) -> bool:
        """Take one belief about no single order: apply it, then journal it.

        ``PositionCorrected`` sets the position to the broker's figure (counted in
        :attr:`corrections`), ``FeeCharged`` takes a fee off the position and realized P&L
        (counted in :attr:`fees`; an activity id already booked is neither applied nor
        journaled again, and returns False), ``SessionStarted`` restarts the daily P&L;
        ``Denied`` and ``KillEngaged`` change no state here (the risk engine and the client
        hold theirs). Every one is journaled, so replay rebuilds what live believed. Returns
        whether the position book changed (always True for the other events).
        """
        changed = True
        if isinstance(event, ev.OptionSettled):
            if event.activity_id in self.fee_ids:
                return False
            self.fee_ids.add(event.activity_id)
            self.settlements += 1
            shares = settle(self.book, event)
            kind, cid, data = encode_belief(event)
            self.journal.append(kind, cid, data)
            if self.on_settled is not None:
                self.on_settled(event, shares)
            return True
        if isinstance(event, ev.FeeCharged):
            if event.activity_id in self.fee_ids:
                return False
            self.fee_ids.add(event.activity_id)
            self.fees += 1
            self.book.apply_fee(event.symbol, event.qty, event.usd)
            kind, cid, data = encode_belief(event)
            self.journal.append(kind, cid, data)
            if self.on_fee is not None:
                self.on_fee(event)
            return True
        if isinstance(event, ev.PositionCorrected):
            self.corrections += 1
            changed = self.book.apply_correction(event.symbol, event.qty, event.avg_price)
        elif isinstance(event, ev.SessionStarted) and event.market == "equity":
            self.book.start_new_day()  # a crypto day's start is the risk engine's
        kind, cid, data = encode_belief(event)
        self.journal.append(kind, cid, data)
        return changed
