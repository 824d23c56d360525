"""Alpaca's option rules on the simulated broker, sans-I/O (issue 24): single-leg orders and
the contract master list (``GET /v2/options/contracts``).

What the real venue does (reference/crypto-options.md 3a; payloads in
tests/fixtures/alpaca/options), and the source of each answer:

- Orders name the contract by its OCC symbol, bare (``SPY260731P00395000``); the order shows
  ``asset_class: us_option`` (fixture "Options"). Types market, limit, stop, stop_limit; class
  simple (or mleg, sim/broker/mleg.py); time in force day and gtc (changelog 2026-08-28).
- Whole contracts only ("Fractional options" are not supported: options-trading-overview),
  no notional, no extended hours (same page).
- ``position_intent`` (buy_to_open, buy_to_close, sell_to_open, sell_to_close; alpaca-py
  ``PositionIntent``) is accepted and echoed; without ``side`` it gives the side.
- Cash moves by contracts x price x multiplier; the position keeps the premium per share as
  its ``avg_entry_price`` (engine/options.py). Selling to open is allowed (a short option).

UNCONFIRMED, no primary source found (alpaca-py reads only ``code`` and ``message``): the
code of every refusal below, and the wording of all but the TIF refusal, whose text
"order_time_in_force provided not supported for options trading" is quoted from a
third-party report (IgorGanapolsky/trading PR #1915, 2026-01); the contract list's order
(by symbol here), its ``page_token`` format (opaque here: the last symbol of the page),
``open_interest`` (0 here) and ``close_price`` (the model's price of the underlying's last
mid), and the 422 for ``limit`` above 10,000.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tradewire.engine.options import OptionContract
from tradewire.sim.broker.orders import OrderError, SimOrder, _dec, asset_id_for
from tradewire.sim.option_chain import OptionChains, expiry_instant

OPTION_ORDER_TYPES = frozenset({"market", "limit", "stop", "stop_limit"})
OPTION_TIFS = frozenset({"day", "gtc"})
INTENTS = {
    "buy_to_open": "buy",
    "buy_to_close": "buy",
    "sell_to_open": "sell",
    "sell_to_close": "sell",
}
CONTRACTS_LIMIT_DEFAULT = 100
CONTRACTS_LIMIT_MAX = 10_000
TIF_REFUSED = "order_time_in_force provided not supported for options trading"


def side_of(side: object, intent: object, where: str = "") -> tuple[str, str | None]:
    """The order's (or a leg's) side and position_intent: either may give the side; both
    must agree."""
    if intent is not None and intent not in INTENTS:
        raise OrderError(422, 40010001, f"invalid {where}position_intent: {str(intent)[:40]!r}")
    if side is None or side == "":
        if intent is None:
            raise OrderError(422, 40010001, f"{where}side or position_intent is required")
        return INTENTS[str(intent)], str(intent)
    if side not in ("buy", "sell"):
        raise OrderError(422, 40010001, f"{where}side must be buy or sell")
    if intent is not None and INTENTS[str(intent)] != side:
        raise OrderError(422, 40010001, f"{where}side {side} contradicts position_intent {intent}")
    return str(side), None if intent is None else str(intent)


def whole_contracts(value: object, name: str = "qty") -> Decimal:
    """A positive whole number of contracts (``1.0`` from alpaca-py's floats is 1)."""
    qty = _dec(value, name)
    if qty is None:
        raise OrderError(422, 40010001, f"{name} is required")
    if qty <= 0 or qty != qty.to_integral_value():
        raise OrderError(422, 40010001, f"{name} must be a whole number of contracts > 0")
    return qty.quantize(Decimal(1))


def _check_price(price: Decimal | None, name: str) -> None:
    if price is None:
        return
    if price <= 0:
        raise OrderError(422, 40010001, f"{name} must be > 0")
    if price != price.quantize(Decimal("0.01")):
        raise OrderError(
            422,
            42210000,
            f"invalid {name} {price}. sub-penny increment does not fulfill minimum pricing criteria",
        )


def build_order(
    body: Mapping[str, object],
    contract: OptionContract,
    *,
    client_order_id: str,
    new_id: Callable[[], str],
    at: datetime,
) -> SimOrder:
    """Validate a single-leg ``POST /v2/orders`` body for a listed contract; not booked."""
    otype = body.get("type") or body.get("order_type")
    tif = body.get("time_in_force")
    side, intent = side_of(body.get("side"), body.get("position_intent"))
    if otype not in OPTION_ORDER_TYPES:
        raise OrderError(422, 40010001, f"invalid order type for options orders: {otype!r}")
    if tif not in OPTION_TIFS:
        raise OrderError(422, 40010001, TIF_REFUSED)
    order_class = str(body.get("order_class") or "simple")
    if order_class != "simple":
        raise OrderError(422, 40010001, f"invalid order_class for options orders: {order_class!r}")
    if _dec(body.get("notional"), "notional") is not None:
        raise OrderError(422, 40010001, "notional orders are not supported for options trading")
    if body.get("extended_hours"):
        raise OrderError(422, 40010001, "extended hours orders are not supported for options")
    qty = whole_contracts(body.get("qty"))
    limit = _dec(body.get("limit_price"), "limit_price")
    stop = _dec(body.get("stop_price"), "stop_price")
    if otype in ("limit", "stop_limit") and limit is None:
        raise OrderError(422, 40010001, "limit_price is required for limit orders")
    if otype in ("stop", "stop_limit") and stop is None:
        raise OrderError(422, 40010001, "stop_price is required for stop orders")
    _check_price(limit, "limit_price")
    _check_price(stop, "stop_price")
    return SimOrder(
        id=new_id(),
        client_order_id=client_order_id,
        symbol=contract.symbol,
        side=side,
        type=str(otype),
        time_in_force=str(tif),
        qty=qty,
        limit_price=limit,
        stop_price=stop,
        asset_id=asset_id_for(contract.symbol),
        multiplier=contract.multiplier,
        position_intent=intent,
        created_at=at,
        updated_at=at,
        submitted_at=at,
    )


# -- the contract master list ---------------------------------------------------------------


def contract_name(contract: OptionContract) -> str:
    """Alpaca's style: ``SPY Jul 31 2026 395 Put``."""
    strike = format(contract.strike.normalize(), "f")
    return (
        f"{contract.underlying} {contract.expiry:%b} {contract.expiry.day} {contract.expiry.year}"
        f" {strike} {contract.right.capitalize()}"
    )


def contract_status(contract: OptionContract, now: datetime) -> str:
    return "active" if now < expiry_instant(contract.expiry) else "inactive"


def contract_json(
    contract: OptionContract,
    chains: OptionChains,
    now: datetime,
    underlying_mid: Decimal | None,
) -> dict[str, Any]:
    """One contract as alpaca-py's ``OptionContract`` model reads it."""
    status = contract_status(contract, now)
    close = None
    if underlying_mid is not None:
        close = f"{chains.price(contract, float(underlying_mid), now).theo:.2f}"
    mult = format(contract.multiplier.normalize(), "f")
    return {
        "id": asset_id_for(contract.symbol),
        "symbol": contract.symbol,
        "name": contract_name(contract),
        "status": status,
        "tradable": status == "active",
        "expiration_date": contract.expiry.isoformat(),
        "root_symbol": contract.underlying,
        "underlying_symbol": contract.underlying,
        "underlying_asset_id": asset_id_for(contract.underlying),
        "type": contract.right,
        "style": contract.style,
        "strike_price": format(contract.strike.normalize(), "f"),
        "multiplier": mult,
        "size": mult,
        "open_interest": "0",
        "open_interest_date": now.date().isoformat(),
        "close_price": close,
        "close_price_date": now.date().isoformat() if close is not None else None,
    }


def find_contract(chains: OptionChains | None, symbol_or_id: str) -> OptionContract | None:
    """A listed contract by OCC symbol (any case, ``O:`` or not) or by its id."""
    if chains is None:
        return None
    found = chains.get(symbol_or_id)
    if found is not None:
        return found
    wanted = symbol_or_id.strip().lower()
    if len(wanted) != 36 or wanted.count("-") != 4:
        return None  # not a contract id: no scan (every stock order asks here first)
    return next((c for c in chains if asset_id_for(c.symbol) == wanted), None)


def _query_date(query: Mapping[str, str], name: str) -> date | None:
    value = query.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise OrderError(422, 40010001, f"invalid {name}: {value[:40]!r}") from None


def _query_price(query: Mapping[str, str], name: str) -> Decimal | None:
    return _dec(query.get(name), name)


def _limit(value: str | None) -> int:
    if value is None or value == "":
        return CONTRACTS_LIMIT_DEFAULT
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if not 1 <= limit <= CONTRACTS_LIMIT_MAX:
        raise OrderError(
            422, 40010001, f"limit must be between 1 and {CONTRACTS_LIMIT_MAX}: {value[:40]!r}"
        )
    return limit


def page_token(symbol: str) -> str:
    return base64.urlsafe_b64encode(symbol.encode()).decode()


def _after(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise OrderError(422, 40010001, f"invalid page_token: {token[:80]!r}") from None


def list_contracts(
    chains: OptionChains | None, query: Mapping[str, str], now: datetime
) -> tuple[list[OptionContract], str | None]:
    """``GET /v2/options/contracts``: the page of contracts the query selects, and the
    ``next_page_token`` (None on the last page)."""
    limit = _limit(query.get("limit"))
    underlyings = {s.strip().upper() for s in query.get("underlying_symbols", "").split(",")}
    underlyings.discard("")
    status = query.get("status") or "active"
    on = _query_date(query, "expiration_date")
    gte = _query_date(query, "expiration_date_gte")
    lte = _query_date(query, "expiration_date_lte")
    root = (query.get("root_symbol") or "").upper()
    right = query.get("type")
    style = query.get("style")
    k_gte = _query_price(query, "strike_price_gte")
    k_lte = _query_price(query, "strike_price_lte")
    token = query.get("page_token")
    after = _after(token) if token else None
    picked = sorted(
        (
            c
            for c in (chains or ())
            if (not underlyings or c.underlying in underlyings)
            and contract_status(c, now) == status
            and (on is None or c.expiry == on)
            and (gte is None or c.expiry >= gte)
            and (lte is None or c.expiry <= lte)
            and (not root or c.underlying == root)
            and (right is None or c.right == right)
            and (style is None or c.style == style)
            and (k_gte is None or c.strike >= k_gte)
            and (k_lte is None or c.strike <= k_lte)
            and (after is None or c.symbol > after)
        ),
        key=lambda c: c.symbol,
    )
    page = picked[:limit]
    more = len(picked) > limit
    return page, page_token(page[-1].symbol) if more else None
