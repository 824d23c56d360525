"""Alpaca REST and trade_updates JSON shapes, from reference/alpaca.md sections 5, 7, 8, 11.

Decimals go out as strings (Alpaca keeps precision that way, and alpaca-py requires strings
for notional/trail fields). Keys are those of the real payloads, null when unset, and no
others: REST orders as the Trading OpenAPI examples (no ``expires_at``/``position_intent``),
stream orders as the documented trade_updates frame (no ``subtag``/``source``, with
``cancel_requested_at``); tests compare the key sets with the fixtures.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tradewire.engine.options import is_option_symbol
from tradewire.sim.broker.crypto import CRYPTO_EXCHANGE, CryptoAsset, FeeRecord, is_crypto
from tradewire.sim.broker.expiry import DESCRIPTIONS, OptionActivity
from tradewire.sim.broker.matching import SimBook
from tradewire.sim.broker.orders import (
    CENT,
    EASTERN,
    Execution,
    FillRecord,
    SimOrder,
    SimPosition,
    asset_id_for,
)
from tradewire.sim.option_chain import expiry_instant

ASSET_EXCHANGE = "NASDAQ"


def ts(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def dec(value: Decimal | None) -> str | None:
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return text


def order_json(order: SimOrder, book: SimBook | None = None) -> dict[str, Any]:
    legs = None
    if order.legs and book is not None:
        legs = [order_json(book.orders[i]) for i in order.legs]
    out: dict[str, Any] = {
        "id": order.id,
        "client_order_id": order.client_order_id,
        "created_at": ts(order.created_at),
        "updated_at": ts(order.updated_at),
        "submitted_at": ts(order.submitted_at),
        "filled_at": ts(order.filled_at),
        "expired_at": ts(order.expired_at),
        "canceled_at": ts(order.canceled_at),
        "failed_at": ts(order.failed_at),
        "replaced_at": ts(order.replaced_at),
        "replaced_by": order.replaced_by,
        "replaces": order.replaces,
        "asset_id": order.asset_id,
        "symbol": order.symbol,
        "asset_class": asset_class(order.symbol),
        "notional": dec(order.notional),
        "qty": dec(order.qty),
        "filled_qty": dec(order.filled_qty) or "0",
        "filled_avg_price": dec(order.filled_avg_price),
        "order_class": order.order_class,
        "order_type": order.type,
        "type": order.type,
        "side": order.side,
        "time_in_force": order.time_in_force,
        "limit_price": dec(order.limit_price),
        "stop_price": dec(order.stop_price),
        "status": order.status,
        "extended_hours": order.extended_hours,
        "legs": legs,
        "trail_percent": dec(order.trail_percent),
        "trail_price": dec(order.trail_price),
        "hwm": dec(order.hwm),
        "subtag": None,
        "source": None,
    }
    if order.order_class == "mleg":
        _mleg_shape(order, out)
    elif order.position_intent is not None:
        out["position_intent"] = order.position_intent
    return out


def _mleg_shape(order: SimOrder, out: dict[str, Any]) -> None:
    # The fixture "MultilegOptions" (tests/fixtures/alpaca/options): the parent names no
    # asset (asset_id, symbol, asset_class, side all ""); a leg has no type (""), and adds
    # position_intent, expires_at (4 PM ET of the day for a day order) and ratio_qty.
    if order.parent_id is None:
        out["asset_id"] = ""
        return
    out["order_type"] = out["type"] = ""
    out["position_intent"] = order.position_intent
    day = order.created_at.astimezone(EASTERN).date()
    out["expires_at"] = ts(expiry_instant(day)) if order.time_in_force == "day" else None
    out["ratio_qty"] = dec(order.ratio_qty)


def asset_class(symbol: str) -> str:
    """``crypto`` for a pair (the book keys it ``BTC/USD``), ``us_option`` for an OCC
    symbol, ``""`` for none (an mleg parent), ``us_equity`` otherwise."""
    if is_crypto(symbol):
        return "crypto"
    if not symbol:
        return ""
    # An OCC symbol has at least 16 characters; a ticker never does (no regex per order).
    return "us_option" if is_option_symbol(symbol) else "us_equity"


def activity_symbol(symbol: str) -> str:
    """Positions and activities name a pair without its slash: ``BTCUSD``."""
    return symbol.replace("/", "")


def error_json(code: int, message: str, **extra: object) -> dict[str, Any]:
    return {"code": code, "message": message, **{k: str(v) for k, v in extra.items()}}


def account_json(book: SimBook) -> dict[str, Any]:
    equity = book.equity.quantize(CENT)
    return {
        "id": book.account_id,
        "account_number": "PA" + book.account_id.replace("-", "")[:10].upper(),
        "status": "ACTIVE",
        "crypto_status": "ACTIVE" if book.crypto else "INACTIVE",
        "currency": "USD",
        "cash": dec(book.cash.quantize(CENT)),
        "buying_power": dec(book.buying_power.quantize(CENT)),
        "regt_buying_power": dec(book.buying_power.quantize(CENT)),
        "daytrading_buying_power": "0",
        "non_marginable_buying_power": dec(book.buying_power.quantize(CENT)),
        "equity": dec(equity),
        "last_equity": dec(book.starting_cash),
        "portfolio_value": dec(equity),
        "long_market_value": dec(book.long_market_value.quantize(CENT)),
        "short_market_value": dec(book.short_market_value.quantize(CENT)),
        "initial_margin": "0",
        "maintenance_margin": "0",
        "last_maintenance_margin": "0",
        "sma": "0",
        "daytrade_count": 0,
        "multiplier": "1",
        "pattern_day_trader": False,
        "trading_blocked": False,
        "transfers_blocked": False,
        "account_blocked": False,
        "trade_suspended_by_user": False,
        "shorting_enabled": book.shorting_enabled,
        "created_at": "2026-01-02T14:30:00Z",
    }


def position_json(book: SimBook, pos: SimPosition) -> dict[str, Any]:
    mark = book.mark(pos.symbol) or pos.avg_entry_price
    cost = pos.qty * pos.avg_entry_price * pos.multiplier
    value = pos.qty * mark * pos.multiplier
    pl = value - cost
    plpc = pl / abs(cost) if cost else Decimal(0)
    if is_crypto(pos.symbol):
        return _crypto_position_json(pos, mark, cost, value, pl, plpc)
    # An option position (UNCONFIRMED keys, no real payload at hand: the equity keys with
    # asset_class us_option, exchange "" and not marginable): qty in contracts, prices per
    # share (the premium), cost_basis and market_value x the multiplier.
    option = pos.multiplier != 1 or is_option_symbol(pos.symbol)
    return {
        "asset_id": pos.asset_id or asset_id_for(pos.symbol),
        "symbol": pos.symbol,
        "exchange": "" if option else ASSET_EXCHANGE,
        "asset_class": "us_option" if option else "us_equity",
        "asset_marginable": not option,
        "avg_entry_price": dec(pos.avg_entry_price.quantize(Decimal("0.0001"))),
        "qty": dec(pos.qty),
        "qty_available": dec(pos.qty),
        "side": "long" if pos.qty > 0 else "short",
        "market_value": dec(value.quantize(CENT)),
        "cost_basis": dec(cost.quantize(CENT)),
        "unrealized_pl": dec(pl.quantize(CENT)),
        "unrealized_plpc": dec(plpc.quantize(Decimal("0.0001"))),
        "unrealized_intraday_pl": dec(pl.quantize(CENT)),
        "unrealized_intraday_plpc": dec(plpc.quantize(Decimal("0.0001"))),
        "current_price": dec(mark.quantize(CENT)),
        "lastday_price": dec(mark.quantize(CENT)),
        "change_today": "0",
    }


def _crypto_position_json(
    pos: SimPosition, mark: Decimal, cost: Decimal, value: Decimal, pl: Decimal, plpc: Decimal
) -> dict[str, Any]:
    # The keys of Alpaca's crypto position (tests/fixtures/alpaca/crypto/
    # entity__position-crypto.json): symbol BTCUSD, no asset_marginable, prices unrounded.
    return {
        "asset_id": pos.asset_id or asset_id_for(pos.symbol),
        "symbol": activity_symbol(pos.symbol),
        "exchange": CRYPTO_EXCHANGE,
        "asset_class": "crypto",
        "avg_entry_price": dec(pos.avg_entry_price),
        "qty": dec(pos.qty),
        "qty_available": dec(pos.qty),
        "side": "long",
        "market_value": dec(value),
        "cost_basis": dec(cost),
        "unrealized_pl": dec(pl),
        "unrealized_plpc": dec(plpc.quantize(Decimal("0.0000000000000001"))),
        "unrealized_intraday_pl": dec(pl),
        "unrealized_intraday_plpc": dec(plpc.quantize(Decimal("0.0000000000000001"))),
        "current_price": dec(mark),
        "lastday_price": dec(mark),
        "change_today": "0",
    }


def clock_json(now: datetime | None = None) -> dict[str, Any]:
    # The simulator's market is always open: it trades whenever the feed runs.
    now = now or datetime.now(UTC)
    return {
        "timestamp": ts(now),
        "is_open": True,
        "next_open": ts(now + timedelta(days=1)),
        "next_close": ts(now + timedelta(hours=6)),
    }


def calendar_json(start: datetime, days: int = 5) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    day = start
    while len(out) < days:
        if day.weekday() < 5:
            out.append(
                {
                    "date": day.strftime("%Y-%m-%d"),
                    "open": "09:30",
                    "close": "16:00",
                    "settlement_date": (day + timedelta(days=1)).strftime("%Y-%m-%d"),
                }
            )
        day += timedelta(days=1)
    return out


def asset_json(symbol: str) -> dict[str, Any]:
    return {
        "id": asset_id_for(symbol),
        "class": "us_equity",
        "exchange": ASSET_EXCHANGE,
        "symbol": symbol,
        "name": f"{symbol} (simulated)",
        "status": "active",
        "tradable": True,
        "marginable": True,
        "shortable": True,
        "easy_to_borrow": True,
        "fractionable": True,
        "maintenance_margin_requirement": 30,
        "attributes": [],
    }


def crypto_asset_json(asset: CryptoAsset) -> dict[str, Any]:
    """``GET /v2/assets/BTC/USD``: the keys of Alpaca's crypto asset (tests/fixtures/alpaca/
    crypto/crypto__assets__1.json); the exchange is today's ``CRYPTO``, not the fixture's
    2022 ``FTXU``."""
    return {
        "id": asset.asset_id,
        "class": "crypto",
        "exchange": CRYPTO_EXCHANGE,
        "symbol": asset.symbol,
        "name": f"{asset.symbol} pair",
        "status": "active",
        "tradable": True,
        "marginable": False,
        "shortable": False,
        "easy_to_borrow": False,
        "fractionable": True,
        "min_order_size": dec(asset.min_order_size),
        "min_trade_increment": dec(asset.min_trade_increment),
        "price_increment": dec(asset.price_increment),
    }


def trade_update_json(execution: Execution, book: SimBook) -> dict[str, Any]:
    order = order_json(execution.order, book)
    del order["subtag"], order["source"]
    order["cancel_requested_at"] = None
    order["status"] = execution.status
    order["filled_qty"] = dec(execution.filled_qty) or "0"
    order["filled_avg_price"] = dec(execution.filled_avg_price)
    data: dict[str, Any] = {
        "event": execution.event,
        "order": order,
        "timestamp": ts(execution.at),
        "execution_id": execution.execution_id,
        "price": dec(execution.price),
        "qty": dec(execution.qty),
        "position_qty": dec(execution.position_qty),
    }
    if execution.execution_id is None:
        del data["execution_id"]
    return {"stream": "trade_updates", "data": data}


def fee_activity_json(fee: FeeRecord) -> dict[str, Any]:
    """One ``CFEE`` activity, keys as tests/fixtures/alpaca/crypto/crypto__activities__1.json:
    a coin fee as a negative ``qty`` with ``net_amount`` 0 ("Non USD"); a dollar fee as a
    negative ``net_amount`` with ``qty`` 0 (its description is UNCONFIRMED)."""
    usd = fee.usd > 0
    return {
        "id": fee.id,
        "activity_type": "CFEE",
        "date": fee.id[:4] + "-" + fee.id[4:6] + "-" + fee.id[6:8],
        "net_amount": dec(-fee.usd) if usd else "0",
        "description": f"Coin Pair Transaction Fee ({'USD' if usd else 'Non USD'})",
        "symbol": activity_symbol(fee.symbol),
        "qty": "0" if usd else dec(-fee.qty),
        "price": dec(fee.price),
        "status": "executed",
    }


def option_activity_json(activity: OptionActivity) -> dict[str, Any]:
    """One OPEXC / OPASN / OPEXP non-trade activity (alpaca-py ``NonTradeActivity``; see
    sim/broker/expiry.py for what is UNCONFIRMED)."""
    return {
        "id": activity.id,
        "activity_type": activity.activity_type,
        "date": activity.at.astimezone(EASTERN).date().isoformat(),
        "net_amount": dec(activity.net_amount.quantize(CENT)),
        "description": DESCRIPTIONS[activity.activity_type],
        "symbol": activity.symbol,
        "qty": dec(activity.qty),
        "price": dec(activity.price),
        "status": "executed",
    }


def fill_activity_json(fill: FillRecord) -> dict[str, Any]:
    """One ``GET /v2/account/activities`` item of activity_type ``FILL`` (Trading API shape).

    The Trading API's items carry no ``account_id`` (the Broker API's do).
    """
    return {
        "id": fill.id,
        "activity_type": "FILL",
        # Always to the microsecond, so the strings sort as the times do.
        "transaction_time": fill.transaction_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "type": fill.type,
        "price": dec(fill.price),
        "qty": dec(fill.qty),
        "side": fill.side,
        "symbol": activity_symbol(fill.symbol),
        "leaves_qty": dec(fill.leaves_qty) or "0",
        "order_id": fill.order_id,
        "cum_qty": dec(fill.cum_qty),
        "order_status": fill.order_status,
    }
