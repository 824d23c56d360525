"""The journal codec: one engine event <-> one journal record (the replay built on it is
:mod:`tradewire.engine.journal.replay`).

Live and replay share this code: the ledger journals an event with :func:`encode` after the
state machine took it, and :func:`~tradewire.engine.journal.replay.replay` decodes the same
records into the same events and applies them through the same table. A note beside the event (the old ``resolved`` record)
could disagree with it; an event cannot.

Record kinds: ``intent`` and ``external`` create an order (ours, or one found at the broker);
``open`` restores one from a snapshot (the head of every journal segment after the first,
see :meth:`~tradewire.engine.journal.store.Journal.rotate`); every other kind is one
:mod:`tradewire.engine.orders` event. ``denied``, ``kill``,
``position`` and older journals' ``resolved``/``resent``/``lookup`` are audit lines that
change no order.
"""

from __future__ import annotations

import math
from typing import Any

from tradewire.engine import orders as o
from tradewire.engine.journal.record import Record

_SIMPLE: dict[type, str] = {
    o.Sent: "sent",
    o.CancelRequested: "cancel_req",
    o.ReplaceRequested: "replace_req",
    o.Canceled: "canceled",
    o.Expired: "expired",
    o.DoneForDay: "done_for_day",
    o.Abandoned: "abandoned",
}
_SIMPLE_KINDS: dict[str, type] = {kind: cls for cls, kind in _SIMPLE.items()}
CREATES = frozenset({"intent", "external"})
SNAPSHOT = "open"


def encode(event: o.OrderEvent) -> tuple[str, dict[str, Any] | None]:
    """The record kind and data of one event."""
    etype = type(event)
    kind = _SIMPLE.get(etype)
    if kind is not None:
        return kind, None
    if isinstance(event, o.Fill | o.PartialFill):
        data: dict[str, Any] = {
            "exec_id": event.execution_id,
            "qty": event.qty,
            "price": event.price,
        }
        if event.cumulative is not None:
            data["cum"] = event.cumulative
        if event.cumulative_avg is not None:
            data["cum_avg"] = event.cumulative_avg
        return ("fill" if etype is o.Fill else "partial_fill"), data
    if isinstance(event, o.Accepted):
        return "ack", {"broker_id": event.broker_id}
    if isinstance(event, o.New):
        return "new", {"broker_id": event.broker_id}
    if isinstance(event, o.Rejected):
        return "rejected", {"reason": event.reason}
    if isinstance(event, o.Unknown):
        return "unknown", {"reason": event.reason}
    if isinstance(event, o.Replaced):
        return "replaced", {"replaced_by": event.replaced_by}
    if isinstance(event, o.CancelRejected):
        return "cancel_rejected", {"reason": event.reason}
    if isinstance(event, o.ReplaceRejected):
        return "replace_rejected", {"reason": event.reason}
    raise TypeError(f"no journal record for {etype.__name__}")


def decode(rec: Record) -> o.OrderEvent | None:
    """The event one record holds (``None``: an audit line, or a kind this build does not know)."""
    kind = rec.kind
    d = rec.data or {}
    simple = _SIMPLE_KINDS.get(kind)
    if simple is not None:
        return simple()  # type: ignore[no-any-return]
    if kind in ("fill", "partial_fill"):
        cls = o.Fill if kind == "fill" else o.PartialFill
        cum, cum_avg = d.get("cum"), d.get("cum_avg")
        return cls(
            str(d["exec_id"]),
            float(d["qty"]),
            float(d["price"]),
            float(cum) if cum is not None else None,
            float(cum_avg) if cum_avg is not None else None,
        )
    if kind == "ack":
        return o.Accepted(str(d.get("broker_id", "")))
    if kind == "new":
        return o.New(str(d.get("broker_id", "")))
    if kind == "rejected":
        return o.Rejected(str(d.get("reason", "")))
    if kind == "unknown":
        return o.Unknown(str(d.get("reason", "")))
    if kind == "replaced":
        return o.Replaced(str(d.get("replaced_by", "")))
    if kind == "cancel_rejected":
        return o.CancelRejected(str(d.get("reason", "")))
    if kind == "replace_rejected":
        return o.ReplaceRejected(str(d.get("reason", "")))
    return None


def order_data(order: o.Order, **extra: Any) -> dict[str, Any]:
    """The data of the record that creates ``order`` (``intent`` or ``external``)."""
    data = {
        "symbol": order.symbol,
        "side": order.side,
        "qty": order.qty,
        "type": order.order_type,
        "limit": order.limit_price,
        "ref": order.ref_price,
        "strategy": order.strategy,
        **extra,
    }
    if order.notional > 0.0:
        data["notional"] = order.notional  # only then: other records keep their shape
    return data


def order_from(rec: Record) -> o.Order:
    d = rec.data or {}
    limit = d.get("limit")
    qty = float(d["qty"])
    notional = float(d.get("notional") or 0.0)
    sized = 0.0 < qty < math.inf or (qty == 0.0 and 0.0 < notional < math.inf)
    if not sized or (limit is not None and not 0.0 < float(limit) < math.inf):
        raise ValueError(f"qty {qty!r}, limit {limit!r}: not positive finite numbers")
    return o.Order(
        rec.cid,
        str(d["symbol"]),
        str(d["side"]),
        float(d["qty"]),
        str(d.get("type", "market")),
        float(limit) if limit is not None else None,
        strategy=str(d.get("strategy", "")),
        created_ns=rec.ts_ns,
        ref_price=float(d.get("ref") or limit or 0.0),
        notional=notional,
    )


def snapshot_records(manager: o.OrderManager) -> list[tuple[str, str, dict[str, Any]]]:
    """Every open order as one ``open`` record: what a new segment starts from."""
    return [
        (
            SNAPSHOT,
            order.client_order_id,
            order_data(
                order,
                status=order.status.value,
                broker_id=order.broker_id,
                filled=order.filled_qty,
                avg=order.avg_fill_price,
                execs=sorted(order.executions),
                created_ns=order.created_ns,
            ),
        )
        for order in manager.orders.values()
        if order.is_open
    ]
