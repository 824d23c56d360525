"""The journal codec: one engine event <-> one journal record (the replay built on it is
:mod:`tradewire.engine.journal.replay`).

Live and replay share this code: the ledger journals an event with :func:`encode` after the
state machine took it, and :func:`~tradewire.engine.journal.replay.replay` decodes the same
records into the same events and applies them through the same table. A note beside the event (the old ``resolved`` record)
could disagree with it; an event cannot.

Record kinds: ``intent`` and ``external`` create an order (ours, or one found at the broker);
``open`` restores one from a snapshot (the head of every journal segment after the first,
see :meth:`~tradewire.engine.journal.store.Journal.rotate`); every other kind is one
:mod:`tradewire.engine.orders` event, or one of :mod:`tradewire.engine.events` (the
beliefs about no single order: :func:`encode_belief`): ``position`` and ``fee`` (cid: the
symbol; a fee's data names its activity ``id``),
``denied`` (cid: the denied order's), ``new_day`` and ``kill`` (cid ``-``). Those four kinds
were notes written beside the ledger before they were events, with the same data (an old
``position`` note names the broker's figure ``broker``): old journals read as the events.
``kill_result``, the audit kinds and older journals' ``resolved``/``resent``/``lookup`` are
audit lines that change nothing.
"""

from __future__ import annotations

import math
from typing import Any

from tradewire.engine import events as ev
from tradewire.engine import orders as o
from tradewire.engine.journal.record import Record
from tradewire.engine.multileg import Leg, LegFill
from tradewire.engine.positions import PositionBook

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
BELIEFS = frozenset({"position", "fee", "denied", "new_day", "kill"})
"""The record kinds of :mod:`tradewire.engine.events` (:func:`decode_belief`)."""
_NO_ORDER = "-"


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
        if event.legs:  # a multi-leg order's per-leg cumulative figures
            data["legs"] = [[f.symbol, f.filled_qty, f.avg_price] for f in event.legs]
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
            tuple(LegFill(str(s), float(q), float(a)) for s, q, a in d.get("legs") or ()),
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


def encode_belief(event: ev.LedgerEvent) -> tuple[str, str, dict[str, Any]]:
    """The record kind, cid and data of one belief about no single order."""
    if isinstance(event, ev.PositionCorrected):
        data: dict[str, Any] = {"qty": event.qty, "avg": event.avg_price, "reason": event.reason}
        if event.realized:  # only then: every other correction journals as it always did
            data["realized"] = event.realized
        return "position", event.symbol, data
    if isinstance(event, ev.FeeCharged):
        return "fee", event.symbol, {"qty": event.qty, "usd": event.usd, "id": event.activity_id}
    if isinstance(event, ev.Denied):
        data = {
            "why": event.why,
            "strategy": event.strategy,
            "symbol": event.symbol,
            "rule": event.rule,
        }
        return "denied", event.client_order_id, data
    if isinstance(event, ev.SessionStarted):
        return "new_day", _NO_ORDER, {"day": event.day}
    if isinstance(event, ev.KillEngaged):
        data = {"reason": event.reason, "flatten": event.flatten, "dropped": event.dropped}
        return "kill", _NO_ORDER, data
    raise TypeError(f"no journal record for {type(event).__name__}")


def decode_belief(rec: Record) -> ev.LedgerEvent | None:
    """The belief one record holds (``None``: not one of :data:`BELIEFS`).

    Raises:
        ValueError: a ``position`` or ``fee`` record's numbers are not finite.
    """
    kind = rec.kind
    d = rec.data or {}
    if kind == "position":
        qty = float(d["qty"] if "qty" in d else d["broker"])  # "broker": the old note
        avg = float(d.get("avg") or 0.0)
        realized = float(d.get("realized") or 0.0)
        if not (math.isfinite(qty) and math.isfinite(avg) and math.isfinite(realized)):
            raise ValueError(f"position {rec.cid}: qty {qty!r}, avg {avg!r}")
        reason = str(d.get("reason", "reconcile"))
        return ev.PositionCorrected(rec.cid, qty, avg, reason, realized)
    if kind == "fee":
        fee_qty, usd = float(d.get("qty") or 0.0), float(d.get("usd") or 0.0)
        if not (math.isfinite(fee_qty) and math.isfinite(usd)):
            raise ValueError(f"fee {rec.cid}: qty {fee_qty!r}, usd {usd!r}")
        return ev.FeeCharged(rec.cid, fee_qty, usd, str(d["id"]))
    if kind == "denied":
        return ev.Denied(
            rec.cid,
            str(d.get("strategy", "")),
            str(d.get("symbol", "")),
            str(d.get("why", "")),
            str(d.get("rule", "")),
        )
    if kind == "new_day":
        return ev.SessionStarted(str(d.get("day", "")))
    if kind == "kill":
        return ev.KillEngaged(
            str(d.get("reason", "")), bool(d.get("flatten", False)), int(d.get("dropped") or 0)
        )
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
    if order.legs:
        data["legs"] = legs_data(order)
    return data


def legs_data(order: o.Order) -> list[list[Any]]:
    """A multi-leg order's legs as its creating record holds them."""
    return [[leg.symbol, leg.ratio, leg.resolved_side, leg.intent] for leg in order.legs]


def _legs_from(raw: Any) -> tuple[Leg, ...]:
    return tuple(Leg(str(s), int(r), str(side), i and str(i)) for s, r, side, i in raw or ())


def order_from(rec: Record) -> o.Order:
    d = rec.data or {}
    limit = d.get("limit")
    qty = float(d["qty"])
    notional = float(d.get("notional") or 0.0)
    legs = _legs_from(d.get("legs"))
    sized = 0.0 < qty < math.inf or (qty == 0.0 and 0.0 < notional < math.inf)
    # A multi-leg limit is a signed net (negative: a credit); any other limit is positive.
    priced = limit is None or (
        math.isfinite(float(limit)) if legs else 0.0 < float(limit) < math.inf
    )
    if not sized or not priced:
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
        legs=legs,
    )


def snapshot_records(
    manager: o.OrderManager, book: PositionBook | None = None
) -> list[tuple[str, str, dict[str, Any]]]:
    """Every open order as one ``open`` record, and every position held as a ``position``
    record (reason ``snapshot``): what a new segment starts from."""
    positions = [
        encode_belief(ev.PositionCorrected(p.symbol, p.qty, p.avg_price, "snapshot"))
        for p in (book.positions.values() if book is not None else ())
        if p.qty
    ]
    return positions + [
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
                **({"leg_held": order.leg_held} if order.legs else {}),
            ),
        )
        for order in manager.orders.values()
        if order.is_open
    ]
