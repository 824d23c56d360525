"""The ``POST /v2/orders`` body types, in a module of their own.

A ``msgspec.Struct`` defined in a module that mypyc compiles loses its field types (the
order body then encodes differently: mypyc/mypyc#1098, msgspec#194). Kept here, outside any
compiled module, the request builder can be compiled (bench: ``tradewire-compiled``).
"""

from __future__ import annotations

import msgspec


class TakeProfit(msgspec.Struct, omit_defaults=True, frozen=True):
    limit_price: str


class StopLoss(msgspec.Struct, omit_defaults=True, frozen=True):
    stop_price: str
    limit_price: str | None = None


class OrderRequest(msgspec.Struct, omit_defaults=True, frozen=True):
    """The ``POST /v2/orders`` body, already validated and formatted (decimals as strings)."""

    symbol: str
    side: str
    type: str
    time_in_force: str
    client_order_id: str
    qty: str | None = None
    notional: str | None = None
    limit_price: str | None = None
    stop_price: str | None = None
    trail_price: str | None = None
    trail_percent: str | None = None
    extended_hours: bool = False
    order_class: str | None = None
    take_profit: TakeProfit | None = None
    stop_loss: StopLoss | None = None
    position_intent: str | None = None


class OptionLeg(msgspec.Struct, omit_defaults=True, frozen=True):
    """One leg of an ``mleg`` order (alpaca-py ``OptionLegRequest``)."""

    symbol: str
    ratio_qty: str
    side: str | None = None
    position_intent: str | None = None


class MultiLegRequest(msgspec.Struct, omit_defaults=True, frozen=True):
    """The ``POST /v2/orders`` body of a multi-leg options order: no ``symbol`` and no
    ``side`` (the legs carry them), ``order_class`` ``mleg``; a signed ``limit_price``
    (positive: a debit, negative: a credit)."""

    type: str
    time_in_force: str
    client_order_id: str
    qty: str
    legs: tuple[OptionLeg, ...]
    order_class: str  # "mleg"; no default, or omit_defaults would drop it from the body
    limit_price: str | None = None


AnyOrderRequest = OrderRequest | MultiLegRequest
"""What a venue port sends: one order body of either shape."""
