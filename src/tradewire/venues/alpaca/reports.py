"""Alpaca's reports as the engine's facts: an order (REST reply, lookup, history, trade
update) becomes an :class:`~tradewire.engine.translate.OrderFact`, one execution from the
account's fill activities a fill event. Sans-I/O.

The venue says what its reports mean; the engine's hosts (``live/``) only fetch them and
hand the facts to the ledger (like NautilusTrader's ``generate_order_status_reports`` /
``generate_fill_reports`` on an adapter's execution client).

Every symbol a report carries becomes the engine's instrument key here, read with the
message's own ``asset_class`` (issue 23): Alpaca's crypto orders say ``BTC/USD``, its
positions ``BTCUSD``, and keyed raw the reconciler zeroed one and booked the other.
"""

from __future__ import annotations

from collections.abc import Iterable

from tradewire.engine import orders as o
from tradewire.engine.events import FeeCharged, OptionSettled
from tradewire.engine.instruments import ASSET_CLASSES, InstrumentError, instrument_key
from tradewire.engine.multileg import Leg, LegFill, combo_symbol
from tradewire.engine.translate import OrderFact
from tradewire.venues.alpaca.messages import FeeActivity, FillActivity, Position
from tradewire.venues.alpaca.messages import Order as BrokerOrder

_KEYED = ASSET_CLASSES | {None}


def report_key(symbol: str, asset_class: str | None) -> str:
    """The engine's key of a symbol as an Alpaca message names it, under that message's
    ``asset_class`` (``crypto``: ``BTCUSD`` and ``BTC/USD`` are ``BTC/USD``; ``us_equity``: the
    ticker; ``us_option``: the OCC symbol without ``O:``). A class the engine has no
    instruments for, or a symbol the instrument rules refuse, keeps the venue's spelling: a
    report is never dropped for it.
    """
    if asset_class == "us_equity" or asset_class not in _KEYED:
        return symbol  # Alpaca's ticker is the key already; a class with no instruments here
    if asset_class is None and "/" not in symbol:
        return symbol  # a message with no class (a stock, or an old one): as the venue says
    try:
        return instrument_key(symbol, asset_class)  # type: ignore[arg-type]
    except InstrumentError:
        return symbol


def broker_positions(positions: Iterable[Position]) -> dict[str, tuple[float, float]]:
    """The broker's positions by instrument key: key -> (qty, average entry price)."""
    return {
        report_key(p.symbol, p.asset_class): (float(p.qty), float(p.avg_entry_price))
        for p in positions
    }


def is_leg(b: BrokerOrder) -> bool:
    """A leg of a multi-leg order: ``order_class`` ``mleg`` with a symbol of its own (the
    parent's is empty). Its fills are booked through its parent (engine/multileg.py)."""
    return b.order_class == "mleg" and bool(b.symbol)


def leg_fill(b: BrokerOrder) -> LegFill:
    """One leg's cumulative figures, keyed by the contract."""
    return LegFill(
        report_key(b.symbol or "", b.asset_class or "us_option"),
        float(b.filled_qty),
        float(b.filled_avg_price or 0),
    )


def _mleg_fact(b: BrokerOrder) -> OrderFact:
    # The parent of an mleg order (the fixture "MultilegOptions"): no symbol, no side; its
    # qty counts units, its limit and average are the signed net; the legs carry the rest.
    children = b.legs or []
    legs = tuple(
        Leg(
            report_key(c.symbol or "", c.asset_class or "us_option"),
            int(c.ratio_qty) if c.ratio_qty is not None else 1,
            c.side or None,
            c.position_intent or None,
        )
        for c in children
    )
    return OrderFact(
        b.client_order_id,
        b.status,
        b.id,
        float(b.filled_qty),
        float(b.filled_avg_price or 0),
        combo_symbol(legs),
        "buy",
        float(b.qty or 0),
        b.type or b.order_type or "",
        float(b.limit_price) if b.limit_price is not None else None,
        0.0,
        b.replaces or "",
        legs,
        tuple(leg_fill(c) for c in children),
        tuple(c.id for c in children),
    )


def fact_from(b: BrokerOrder) -> OrderFact:
    """The engine's view of one broker order (prices and sizes as floats)."""
    if b.order_class == "mleg" and not b.symbol:
        return _mleg_fact(b)
    return OrderFact(
        b.client_order_id,
        b.status,
        b.id,
        float(b.filled_qty),
        float(b.filled_avg_price or 0),
        report_key(b.symbol, b.asset_class) if b.symbol else "",
        b.side or "",
        float(b.qty or 0),
        b.type or b.order_type or "",
        float(b.limit_price) if b.limit_price is not None else None,
        float(b.notional or 0),
        b.replaces or "",
    )


def fill_from_activity(act: FillActivity) -> o.Fill | o.PartialFill:
    """One execution of the account's fill activities, as the fill of its order.

    A ``Fill`` when it completed the order (``order_status`` ``filled``); the broker's
    cumulative quantity, when it says it, lets a fill seen by two routes count once.
    """
    cls = o.Fill if act.order_status == "filled" else o.PartialFill
    cum = float(act.cum_qty) if act.cum_qty is not None else None
    return cls(f"activity:{act.id}", float(act.qty), float(act.price), cum, None)


def fee_from_activity(act: FeeActivity) -> FeeCharged | None:
    """One fee activity as the ledger's :class:`~tradewire.engine.events.FeeCharged`, keyed
    by the instrument (``CFEE`` on ``BTCUSD`` is a ``BTC/USD`` fee); ``None`` when it charges
    nothing or names no symbol (a fee on no position: the next read of the account's cash
    brings it in).

    A negative ``qty`` is the coin taken, a negative ``net_amount`` the dollars taken
    (reference/crypto-options.md 3a; the fixture's CFEE). UNCONFIRMED: whether a ``FEE``
    activity ever carries a coin quantity; it is read the same way.
    """
    if not act.symbol:
        return None
    qty = -float(act.qty) if act.qty is not None and act.qty < 0 else 0.0
    usd = -float(act.net_amount) if act.net_amount < 0 else 0.0
    if not qty and not usd:
        return None
    asset_class = "crypto" if act.activity_type == "CFEE" else None
    return FeeCharged(report_key(act.symbol, asset_class), qty, usd, act.id)


OPTION_SETTLEMENTS = "OPEXC,OPASN,OPEXP"


def settlement_from_activity(act: FeeActivity) -> OptionSettled | None:
    """An option exercise (``OPEXC``), assignment (``OPASN``) or expiry (``OPEXP``) activity as
    the ledger's :class:`~tradewire.engine.events.OptionSettled`; ``None`` for another type or
    one that names no contract or moves nothing.

    UNCONFIRMED (alpaca-py names the types, no payload was found): ``qty`` is the option
    position's signed change in contracts and ``price`` the strike, as the simulator posts
    them (sim/broker/expiry.py).
    """
    if act.activity_type not in OPTION_SETTLEMENTS.split(",") or not act.symbol:
        return None
    change = float(act.qty) if act.qty is not None else 0.0
    if not change:
        return None
    key = report_key(act.symbol, "us_option")
    strike = float(act.price) if act.price is not None else 0.0
    return OptionSettled(key, change, strike, act.activity_type, act.id)
