"""Massive's REST query language and result shapes for the options endpoints, sans-I/O.

Filters are ``field=value`` and ``field.gt|gte|lt|lte=value`` (``x-massive-filter-field``
ranges in Massive's ``.massive/rest.json``); ``limit`` has a default of 10 and a per-endpoint
maximum (250 for the chain snapshot, 1000 for the contracts list); ``sort`` and ``order`` pick
the order. A page that is not the last carries ``next_url``: the same path with one opaque
``cursor`` that holds the whole query and where the next page starts, as Massive's do
(``...?cursor=YWN0aXZlPXRydWUm...``, base64 of a query string). Every error is a
:class:`QueryError`, which the server answers as Massive does:
``400 {"status":"ERROR","request_id":...,"error":...}``.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tradewire.engine.options import OptionContract
from tradewire.sim.option_chain import OptionPrice

RANGES = ("gt", "gte", "lt", "lte")


class QueryError(ValueError):
    """A parameter Massive would refuse (HTTP 400); the message says which."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What one endpoint accepts: filterable fields (``True`` = ranges too), sorts, limit."""

    fields: Mapping[str, bool]
    sorts: tuple[str, ...]
    max_limit: int
    default_limit: int = 10


SNAPSHOT = Endpoint(
    fields={"strike_price": True, "expiration_date": True, "contract_type": False},
    sorts=("ticker", "expiration_date", "strike_price"),
    max_limit=250,
)
CONTRACTS = Endpoint(
    fields={
        "underlying_ticker": True,
        "strike_price": True,
        "expiration_date": True,
        "contract_type": False,
        "expired": False,
        "as_of": False,
    },
    sorts=("ticker", "underlying_ticker", "expiration_date", "strike_price"),
    max_limit=1000,
)


@dataclass(frozen=True, slots=True)
class Query:
    """One request's filters ``(field, op, value)`` (op ``eq`` or a range), order and page."""

    filters: tuple[tuple[str, str, Any], ...]
    sort: str
    order: str
    limit: int
    offset: int = 0
    raw: tuple[tuple[str, str], ...] = ()

    def value(self, name: str) -> Any:
        return next((v for f, op, v in self.filters if f == name and op == "eq"), None)

    def next_cursor(self, total: int) -> str | None:
        """The cursor of the page after this one, or None if this one is the last."""
        start = self.offset + self.limit
        if start >= total:
            return None
        text = urlencode([*self.raw, ("limit", str(self.limit)), ("offset", str(start))])
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _value(name: str, raw: str) -> Any:
    if name == "strike_price":
        try:
            number = Decimal(raw)
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite():
            raise QueryError(f"Could not parse the strike_price parameter: {raw[:40]!r}")
        return number
    if name in ("expiration_date", "as_of"):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise QueryError(
                f"Could not parse the {name} parameter: {raw[:40]!r}, want YYYY-MM-DD"
            ) from None
    if name == "contract_type":
        if raw not in ("call", "put"):
            raise QueryError(f"contract_type must be one of call, put: got {raw[:40]!r}")
        return raw
    if name == "expired":
        if raw not in ("true", "false"):
            raise QueryError(f"expired must be true or false: got {raw[:40]!r}")
        return raw == "true"
    return raw


def _limit(raw: str | None, endpoint: Endpoint) -> int:
    if raw is None or raw == "":
        return endpoint.default_limit
    try:
        limit = int(raw)
    except ValueError:
        raise QueryError(f"Could not parse the limit parameter: {raw[:40]!r}") from None
    if limit < 1 or limit > endpoint.max_limit:
        raise QueryError(f"Limit must be between 1 and {endpoint.max_limit}: got {limit}")
    return limit


def decode_cursor(cursor: str) -> list[tuple[str, str]]:
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        text = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise QueryError("Invalid cursor") from None
    return parse_qsl(text, keep_blank_values=True)


def parse_query(params: Sequence[tuple[str, str]], endpoint: Endpoint) -> Query:
    """The query of ``params`` (a request's query string; a ``cursor`` replaces it all)."""
    items = list(params)
    cursor = next((v for k, v in items if k == "cursor"), None)
    if cursor is not None:
        items = decode_cursor(cursor)
    filters: list[tuple[str, str, Any]] = []
    raw: list[tuple[str, str]] = []
    for key, value in items:
        name, _, op = key.partition(".")
        if name not in endpoint.fields or (op and (op not in RANGES or not endpoint.fields[name])):
            continue  # Massive ignores parameters it does not know
        filters.append((name, op or "eq", _value(name, value)))
        raw.append((key, value))
    get = dict(items).get
    sort = get("sort") or "ticker"
    if sort not in endpoint.sorts:
        raise QueryError(f"sort must be one of {', '.join(endpoint.sorts)}: got {sort[:40]!r}")
    order = get("order") or "asc"
    if order not in ("asc", "desc"):
        raise QueryError(f"order must be one of asc, desc: got {order[:40]!r}")
    raw += [("sort", sort), ("order", order)]
    try:
        offset = max(0, int(get("offset") or 0)) if cursor is not None else 0
    except ValueError:
        raise QueryError("Invalid cursor") from None
    return Query(tuple(filters), sort, order, _limit(get("limit"), endpoint), offset, tuple(raw))


def _field(contract: OptionContract, name: str) -> Any:
    if name == "strike_price":
        return contract.strike
    if name == "expiration_date":
        return contract.expiry
    if name == "contract_type":
        return contract.right
    return contract.underlying  # underlying_ticker


def matches(contract: OptionContract, query: Query) -> bool:
    """Whether ``contract`` passes every field filter of ``query`` (not ``expired``/``as_of``,
    which depend on the day: the caller applies them)."""
    for name, op, want in query.filters:
        if name in ("expired", "as_of"):
            continue
        have = _field(contract, name)
        ok = {
            "eq": have == want,
            "gt": have > want,
            "gte": have >= want,
            "lt": have < want,
            "lte": have <= want,
        }[op]
        if not ok:
            return False
    return True


def ordered(contracts: Sequence[OptionContract], query: Query) -> list[OptionContract]:
    """``contracts`` in the query's sort and order (ties by ticker)."""

    def key(c: OptionContract) -> tuple[Any, str]:
        if query.sort == "ticker":
            return (0, c.massive_ticker)
        return (_field(c, query.sort), c.massive_ticker)

    return sorted(contracts, key=key, reverse=query.order == "desc")


def page(contracts: Sequence[OptionContract], query: Query) -> list[OptionContract]:
    return list(contracts[query.offset : query.offset + query.limit])


def _num(value: Decimal | float) -> float | int:
    """A JSON number as Massive writes it: ``150`` for a whole strike, else the float."""
    number = float(value)
    return int(number) if number.is_integer() else number


def details(contract: OptionContract) -> dict[str, Any]:
    return {
        "contract_type": contract.right,
        "exercise_style": contract.style,
        "expiration_date": contract.expiry.isoformat(),
        "shares_per_contract": _num(contract.multiplier),
        "strike_price": _num(contract.strike),
        "ticker": contract.massive_ticker,
    }


def open_interest(contract: OptionContract) -> int:
    """The simulator models no open interest; a fixed number per contract stands in."""
    return zlib.crc32(contract.symbol.encode()) % 5000


def reference_result(contract: OptionContract) -> dict[str, Any]:
    """One ``/v3/reference/options/contracts`` result."""
    cfi = f"O{'C' if contract.right == 'call' else 'P'}{'A' if contract.style == 'american' else 'E'}SPS"
    return {
        "cfi": cfi,
        **details(contract),
        "underlying_ticker": contract.underlying,
    }


@dataclass(frozen=True, slots=True)
class Trade:
    """The last trade of a contract, if the simulator printed one."""

    price: float
    size: int
    sip_timestamp_ns: int


def snapshot_result(
    contract: OptionContract,
    price: OptionPrice | None,
    spot: float | None,
    now_ns: int,
    trade: Trade | None = None,
) -> dict[str, Any]:
    """One ``/v3/snapshot/options/{underlying}`` result (the fields of ``rest.json``'s
    example). Without a price for the underlying only the contract's details are known."""
    result: dict[str, Any] = {"day": {}, "details": details(contract)}
    if price is not None and spot is not None:
        mid = round((price.bid + price.ask) / 2, 4)
        premium = mid if trade is None else trade.price
        strike = float(contract.strike)
        break_even = strike + premium if contract.right == "call" else strike - premium
        result |= {
            "break_even_price": round(break_even, 4),
            "fmv": round(price.theo, 4),
            "greeks": {
                "delta": round(price.delta, 6),
                "gamma": round(price.gamma, 6),
                "theta": round(price.theta, 6),
                "vega": round(price.vega, 6),
            },
            "implied_volatility": price.iv,
            "last_quote": {
                "ask": price.ask,
                "ask_size": 10,
                "bid": price.bid,
                "bid_size": 10,
                "last_updated": now_ns,
                "midpoint": mid,
                "timeframe": "REAL-TIME",
            },
        }
    if trade is not None:
        result["last_trade"] = {
            "conditions": [209],
            "exchange": 316,
            "price": trade.price,
            "sip_timestamp": trade.sip_timestamp_ns,
            "size": trade.size,
            "timeframe": "REAL-TIME",
        }
    result["open_interest"] = open_interest(contract)
    underlying: dict[str, Any] = {"ticker": contract.underlying}
    if spot is not None:
        underlying |= {"last_updated": now_ns, "price": spot, "timeframe": "REAL-TIME"}
        if "break_even_price" in result:
            underlying["change_to_break_even"] = round(result["break_even_price"] - spot, 4)
    result["underlying_asset"] = underlying
    return result
