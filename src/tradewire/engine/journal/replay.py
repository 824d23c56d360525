"""The replay: every order rebuilt from the journal's records through the same state machine
as live, decoded by :mod:`tradewire.engine.journal.codec`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tradewire.engine import orders as o
from tradewire.engine.journal.codec import CREATES, SNAPSHOT, decode, order_from
from tradewire.engine.journal.record import Record
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
    return order


@dataclass(slots=True)
class ReplayResult:
    manager: o.OrderManager
    records: int = 0
    skipped: list[str] = field(default_factory=list)

    @property
    def in_doubt(self) -> list[o.Order]:
        """Orders whose outcome the journal does not know: settle them before trading."""
        doubtful = (o.OrderStatus.INTENT, o.OrderStatus.SENT, o.OrderStatus.UNKNOWN)
        return [x for x in self.manager.orders.values() if x.status in doubtful]


def replay(records: Iterable[Record], *, source: str = "journal") -> ReplayResult:
    """Rebuild every order from the journal through the same state machine as live.

    Raises:
        JournalMalformed: a record (``source`` names the file) holds no valid order data.
    """
    manager = o.OrderManager()
    result = ReplayResult(manager)
    for rec in records:
        result.records += 1
        try:
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
            manager.apply(rec.cid, event)
        except (o.InvalidTransition, o.InvalidFill) as exc:
            result.skipped.append(str(exc))
    return result
