"""The submit pipeline of a multi-leg options order (``Strategy.submit_multileg``).

The same steps as :meth:`EngineCore.submit` for one order (reference → risk → venue request →
intent → write), with the legs' own: every leg must be an option contract with a mid (the
net is priced from the legs' mids when the order is a market order, and risk counts it), the
account-wide gate (kill switch, halt, throttle, open orders) and the options rules
(:mod:`tradewire.engine.options_risk` when the risk engine has them) decide, the venue's
builder makes the ``mleg`` body, and ONE intent row holds the legs. Not the hot path of a
stock strategy: a spread is priced and sent at human cadence.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tradewire.engine import orders as o
from tradewire.engine.multileg import Leg, combo_symbol, net_price, normalize_legs
from tradewire.engine.options import multiplier_of
from tradewire.engine.risk import APPROVED
from tradewire.engine.session import session_day
from tradewire.engine.views import OrderHandle

if TYPE_CHECKING:
    from tradewire.engine.core import EngineCore
    from tradewire.engine.strategy import Strategy

_perf = time.perf_counter_ns


def submit_multileg(
    core: EngineCore,
    strategy: Strategy,
    legs: Sequence[Leg],
    qty: float,
    *,
    order_type: str,
    limit_price: float | None,
    time_in_force: str,
    client_order_id: str | None,
) -> OrderHandle:
    """One ``mleg`` order: a handle whose ``symbol`` is the legs joined by ``+`` and whose
    ``legs`` are the legs as sent; denied (never raised) like any order."""
    t0 = _perf()
    cid = client_order_id or core.ids.next()
    try:
        normal = normalize_legs(legs)
    except ValueError as exc:
        label = "+".join(str(getattr(leg, "symbol", leg)) for leg in legs)[:120]
        handle = OrderHandle(cid, label, "buy", qty, order_type, limit_price)  # type: ignore[arg-type]
        return core.deny(handle, strategy, f"invalid: {exc}", "invalid")
    symbol = combo_symbol(normal)
    handle = OrderHandle(cid, symbol, "buy", qty, order_type, limit_price)  # type: ignore[arg-type]
    handle.legs = normal
    ledger = core.ledger
    unit_value = 0.0  # dollars per unit of the combination, for the working notional
    if ledger is not None:
        mids = [core.mids.get(leg.symbol) for leg in normal]
        missing = [leg.symbol for leg, mid in zip(normal, mids, strict=True) if mid is None]
        if missing:
            why = f"no reference price for {', '.join(missing)}"
            return core.deny(handle, strategy, why, "no_reference_price")
        net = net_price(normal, [m for m in mids if m is not None])
        priced = limit_price if limit_price is not None else net
        unit_value = abs(priced) * multiplier_of(normal[0].symbol)
        risk = core.risk
        assert risk is not None  # a local core has one
        verdict = risk.check_gate(
            now_ns=core.clock.monotonic_ns(), open_orders=ledger.oms.open_count
        )
        if verdict is APPROVED:
            verdict = risk.check_options(
                legs=normal,
                qty=qty,
                limit_price=limit_price,
                mids=core.mids,
                position=ledger.book.qty,
                working=ledger.oms.working_qty,
                level=core.account.options_level,
                day=session_day(core.clock.time_ns()),
            )
        if verdict is not APPROVED:
            reason = getattr(verdict, "reason", None)
            return core.deny(handle, strategy, str(verdict), reason.value if reason else "risk")
    else:  # a worker: the bus carries single orders only (the gateway's Intent)
        why = "invalid: multi-leg orders are sent inline or in a backtest, not from a worker yet"
        return core.deny(handle, strategy, why, "invalid")
    try:
        request = core.port.build(
            symbol=symbol,
            side="buy",
            order_type=order_type,
            time_in_force=time_in_force,
            qty=qty,
            limit_price=limit_price,
            stop_price=None,
            extended_hours=False,
            client_order_id=cid,
            order_class="mleg",
            take_profit=None,
            stop_loss=None,
            held=None,
            legs=normal,
        )
    except ValueError as exc:
        return core.deny(handle, strategy, f"invalid: {exc}", "invalid")
    if ledger is not None:
        order = o.Order(
            cid,
            symbol,
            "buy",
            qty,
            order_type,
            limit_price,
            strategy=strategy.name,
            ref_price=unit_value,  # the label's multiplier is 1: this is dollars per unit
            legs=normal,
        )
        ledger.create_intent(order, time_in_force)
    core.handles[cid] = handle
    core.owner[cid] = strategy
    core.port.send(cid, request, t0)
    core.counters.orders_sent += 1
    return handle
