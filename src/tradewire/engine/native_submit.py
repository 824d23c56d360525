"""The native order path's side of :meth:`EngineCore.submit` (issue 26).

For a simple stock order (market or limit, sized in shares, no stop, no bracket) a live
host gives the core a :class:`NativeOrders`. One call into C (``native/_orderpath.c``)
then checks risk on the numbers gathered here, writes the intent record to the journal and
returns the request's bytes from the venue's template; the host writes them, and only then
does Python book the order (the OMS, the handle's owner, the counters). What C does not
format exactly as the venue's Python builder would (a fractional quantity, a sub-dollar or
off-tick price, an unusual client order id, a shape the builder refuses) comes back
``None`` with nothing changed, and the Python path takes the order as before.

The journal written by either path is the same bytes (tests/unit/engine/test_native_order_path.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from tradewire.engine import native as compiled
from tradewire.engine import orders as o

if TYPE_CHECKING:
    from tradewire.engine.core import EngineCore
    from tradewire.engine.journal.store import Journal
    from tradewire.engine.native._orderpath import OrderPath
    from tradewire.engine.strategy import OrderHandle, Strategy

Template = tuple[bytes, bytes, bytes, bytes, bytes, bool, int]
TemplateKey = tuple[str, str, str, str, bool]
MakeTemplate = Callable[[str, str, str, str, bool], Template | None]
SendRaw = Callable[[str, bytes, int], None]


class NativeOrders:
    """What the core needs to send an order natively: the compiled path, the venue's
    templates (made once per order shape by ``make_template``) and the host's writer."""

    def __init__(
        self, path: OrderPath, journal: Journal, make_template: MakeTemplate, send_raw: SendRaw
    ) -> None:
        self.path = path
        self.journal = journal
        self.make_template = make_template
        self.send_raw = send_raw
        self.templates: dict[TemplateKey, Template | None] = {}
        self.sent = 0  # orders this path sent (the rest took the Python path)
        self.denied = 0  # orders its risk check denied

    def __repr__(self) -> str:
        return f"NativeOrders(sent={self.sent}, denied={self.denied}, shapes={len(self.templates)})"

    def submit(
        self,
        core: EngineCore,
        strategy: Strategy,
        handle: OrderHandle,
        qty: float,
        limit_price: float | None,
        time_in_force: str,
        extended_hours: bool,
        started_ns: int,
    ) -> OrderHandle | None:
        """Send ``handle``'s order, or deny it; ``None``: the Python path must take it."""
        symbol, side, order_type = handle.symbol, handle.side, handle.order_type
        key = (symbol, side, order_type, time_in_force, extended_hours)
        templates = self.templates
        if key in templates:
            template = templates[key]
        else:
            template = templates[key] = self.make_template(*key)
        if template is None:
            return None
        ledger = core.ledger
        assert ledger is not None  # a core without a ledger has no native path
        book, oms = ledger.book, ledger.oms
        ref = core.mids.get(symbol)
        if ref is None and core.trade_reference:
            ref = core.last_trades.get(symbol)
        cid = handle.client_order_id
        ts_ns = self.journal.clock()
        out = self.path.submit(
            template,
            cid,
            symbol,
            side,
            order_type,
            time_in_force,
            strategy.name,
            qty,
            limit_price,
            ref,
            book.qty(symbol),
            oms.open_count,
            book.gross_exposure,
            book.daily_pnl,
            core.clock.monotonic_ns(),
            oms.working.get(symbol),
            oms.working_notional,
            ts_ns,
        )
        if out is None:
            return None
        if out.__class__ is int:
            self.denied += 1
            assert core.risk is not None
            working = oms.working.get(symbol)
            verdict = core.risk.explain(
                out,
                symbol=symbol,
                side=side,
                qty=qty,
                price=limit_price,
                mid=ref,
                position=book.qty(symbol),
                open_orders=oms.open_count,
                gross_exposure=book.gross_exposure,
                daily_pnl=book.daily_pnl,
                working=(working[0], working[1]) if working else (0.0, 0.0),
                working_notional=oms.working_notional,
                notional=0.0,
            )
            return core.deny(handle, strategy, str(verdict), verdict.reason.value)
        assert ref is not None  # risk denies an order with no reference price
        core.handles[cid] = handle
        core.owner[cid] = strategy
        self.send_raw(cid, cast(bytes, out), started_ns)  # the bytes leave here
        # -- after the write --
        order = o.Order(
            cid,
            symbol,
            side,
            qty,
            order_type,
            limit_price,
            strategy=strategy.name,
            ref_price=limit_price if limit_price is not None and limit_price > ref else ref,
        )
        ledger.book_intent(order, ts_ns, self.path.last_frame)
        core.counters.orders_sent += 1
        self.sent += 1
        return handle


def attach(core: EngineCore, make_template: MakeTemplate, send_raw: SendRaw) -> bool:
    """Send ``core``'s simple stock orders through the native order path, when this process
    has it and the core is local with the native risk core: ``make_template`` gives the
    venue's request template of an order shape (None: not this shape), ``send_raw`` writes
    a request's bytes. Returns whether the native path is on."""
    module = compiled.NATIVE
    risk, ledger = core.risk, core.ledger
    if module is None or ledger is None or risk is None:
        return False
    if not isinstance(risk.core, module.RiskCore):
        return False
    journal = ledger.journal
    path = module.OrderPath(risk.core, journal, journal.fsync == "always")
    core.native = NativeOrders(path, journal, make_template, send_raw)
    return True
