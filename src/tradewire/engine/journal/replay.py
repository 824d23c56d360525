"""The replay: every order rebuilt from the journal's records through the same state machine
as live, decoded by :mod:`tradewire.engine.journal.codec`, and the position book rebuilt
from the fills those orders took, the fees charged and the positions corrected to the
broker's figure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tradewire.engine import events as ev
from tradewire.engine import orders as o
from tradewire.engine.journal.codec import (
    BELIEFS,
    CREATES,
    SNAPSHOT,
    decode,
    decode_belief,
    order_from,
)
from tradewire.engine.journal.record import Record
from tradewire.engine.multileg import book_applied, with_leg_bookings
from tradewire.engine.positions import PositionBook
from tradewire.errors import JournalMalformed


def _restored(rec: Record) -> o.Order:
    d = rec.data or {}
    order = order_from(rec)
    order.status = o.OrderStatus(str(d["status"]))
    order.broker_id = str(d.get("broker_id") or "")
    order.filled_qty = float(d.get("filled") or 0.0)
    order.avg_fill_price = float(d.get("avg") or 0.0)
    order.executions = {str(e) for e in d.get("execs") or ()}
    order.created_ns = int(d.get("created_ns") or rec.ts_ns)
    if order.legs:
        order.leg_held = [[float(q), float(a)] for q, a in d.get("leg_held") or ()]
    return order


@dataclass(slots=True)
class ReplayResult:
    manager: o.OrderManager
    book: PositionBook = field(default_factory=PositionBook)
    records: int = 0
    skipped: list[str] = field(default_factory=list)
    day: str = ""  # the last SessionStarted's
    denied: int = 0
    kill: ev.KillEngaged | None = None  # the last one
    fee_ids: set[str] = field(default_factory=set)  # fee activities booked

    @property
    def in_doubt(self) -> list[o.Order]:
        """Orders whose outcome the journal does not know: settle them before trading."""
        doubtful = (o.OrderStatus.INTENT, o.OrderStatus.SENT, o.OrderStatus.UNKNOWN)
        return [x for x in self.manager.orders.values() if x.status in doubtful]


def replay(records: Iterable[Record], *, source: str = "journal") -> ReplayResult:
    """Rebuild every order and the position book from the journal through the same state
    machine and the same book as live.

    Raises:
        JournalMalformed: a record (``source`` names the file) holds no valid order data.
    """
    manager = o.OrderManager()
    result = ReplayResult(manager)
    book = result.book
    for rec in records:
        result.records += 1
        try:
            if rec.kind in BELIEFS:
                belief = decode_belief(rec)
                if belief is not None:
                    _believe(result, belief)
                continue
            if rec.kind in CREATES:
                if rec.cid not in manager.orders:
                    manager.create(order_from(rec))
                continue
            if rec.kind == SNAPSHOT:
                if rec.cid not in manager.orders:
                    manager.restore(_restored(rec))
                continue
            if rec.cid not in manager.orders:
                continue
            event = decode(rec)
        except (KeyError, TypeError, ValueError) as exc:
            # The CRC says these are the bytes written; a writer's bug (or a hand edit)
            # wrote them wrong. Guessing would book a number nobody validated.
            raise JournalMalformed(
                source,
                result.records,
                f"({rec.kind} {rec.cid}) {type(exc).__name__}: {exc}",
            ) from None
        if event is None:
            continue
        try:
            applied = manager.apply(rec.cid, event)
        except (o.InvalidTransition, o.InvalidFill) as exc:
            result.skipped.append(str(exc))
            continue
        if applied.order.legs:
            applied = with_leg_bookings(applied, event)
        book_applied(book, applied)
    return result


def _believe(result: ReplayResult, event: ev.LedgerEvent) -> None:
    # What Ledger.record does, without the journal.
    if isinstance(event, ev.PositionCorrected):
        result.book.apply_correction(event.symbol, event.qty, event.avg_price, event.realized)
    elif isinstance(event, ev.FeeCharged):
        if event.activity_id not in result.fee_ids:
            result.fee_ids.add(event.activity_id)
            result.book.apply_fee(event.symbol, event.qty, event.usd)
    elif isinstance(event, ev.SessionStarted):
        result.book.start_new_day()
        result.day = event.day
    elif isinstance(event, ev.Denied):
        result.denied += 1
    else:
        result.kill = event
