"""Massive's options REST answers as typed values, sans-I/O (issue 24).

``GET /v3/snapshot/options/{underlyingAsset}`` → :class:`ChainEntry` per contract and
``GET /v3/reference/options/contracts`` → :class:`~tradewire.engine.options.OptionContract`,
one page at a time: :func:`parse_chain_page` and :func:`parse_contracts_page` take a response's
HTTP status and body bytes and return the entries and the ``next_url`` (None on the last
page). Field names are Massive's (``.massive/rest.json``; the ``massive`` SDK's
``OptionContractSnapshot`` and ``OptionsContract``). Symbols come out in Alpaca's form
(``SPY260731P00395000``, no ``O:``), the form every order, position and strategy uses.

Every failure is one :class:`~tradewire.errors.MarketDataError`: an HTTP error (with
Massive's ``error``/``message`` text and ``request_id``), a body that is not the JSON
expected, a status other than ``OK``/``DELAYED``, or a contract whose ticker contradicts its
details.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import TypeVar

import msgspec

from tradewire.engine.options import (
    STANDARD_MULTIPLIER,
    OptionContract,
    OptionSymbolError,
    Right,
    Style,
    parse_occ,
)
from tradewire.errors import MarketDataError

OK_STATUSES = frozenset({"OK", "DELAYED"})
"""``DELAYED``: the same answer on a plan with delayed data."""

_TEXT_LIMIT = 200


class _Details(msgspec.Struct):
    contract_type: str | None = None
    exercise_style: str | None = None
    expiration_date: str | None = None
    shares_per_contract: float | None = None
    strike_price: float | None = None
    ticker: str | None = None


class _Greeks(msgspec.Struct):
    delta: float | None = None
    gamma: float | None = None
    theta: float | None = None
    vega: float | None = None


class _Quote(msgspec.Struct):
    ask: float | None = None
    ask_size: float | None = None
    bid: float | None = None
    bid_size: float | None = None
    midpoint: float | None = None
    last_updated: int | None = None


class _Trade(msgspec.Struct):
    price: float | None = None
    size: float | None = None
    sip_timestamp: int | None = None


class _Underlying(msgspec.Struct):
    price: float | None = None
    ticker: str | None = None


class _Snapshot(msgspec.Struct):
    details: _Details | None = None
    break_even_price: float | None = None
    fmv: float | None = None
    greeks: _Greeks | None = None
    implied_volatility: float | None = None
    last_quote: _Quote | None = None
    last_trade: _Trade | None = None
    open_interest: float | None = None
    underlying_asset: _Underlying | None = None


class _Reference(msgspec.Struct):
    ticker: str | None = None
    contract_type: str | None = None
    exercise_style: str | None = None
    expiration_date: str | None = None
    shares_per_contract: float | None = None
    strike_price: float | None = None
    underlying_ticker: str | None = None


class _SnapshotPage(msgspec.Struct):
    status: str | None = None
    request_id: str | None = None
    results: list[_Snapshot] | None = None
    next_url: str | None = None


class _ReferencePage(msgspec.Struct):
    status: str | None = None
    request_id: str | None = None
    results: list[_Reference] | None = None
    next_url: str | None = None


class _Error(msgspec.Struct):
    status: str | None = None
    request_id: str | None = None
    error: str | None = None
    message: str | None = None


class ChainEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One contract of an underlying's chain with its quote, model values and open interest.

    ``symbol`` is Alpaca's form; prices are per share (multiply by ``multiplier`` for a
    contract's notional). Fields Massive left out (a contract that never traded has no
    ``last_price``; a plan without greeks has none) are None.
    """

    symbol: str
    underlying: str
    expiry: date
    strike: Decimal
    right: Right
    style: Style = "american"
    multiplier: Decimal = STANDARD_MULTIPLIER
    bid: float | None = None
    ask: float | None = None
    mid: float | None = None
    bid_size: float | None = None
    ask_size: float | None = None
    last_price: float | None = None
    last_trade_ns: int | None = None
    iv: float | None = None
    delta: float | None = None
    gamma: float | None = None
    theta: float | None = None
    vega: float | None = None
    open_interest: int | None = None
    underlying_price: float | None = None
    break_even: float | None = None
    fmv: float | None = None

    @property
    def contract(self) -> OptionContract:
        return OptionContract(
            self.symbol,
            self.underlying,
            self.expiry,
            self.right,
            self.strike,
            self.style,
            self.multiplier,
        )


def _text(value: str | None) -> str:
    return (value or "").replace("\n", " ")[:_TEXT_LIMIT]


def check_status(what: str, status: int, body: bytes) -> None:
    """Raise :class:`MarketDataError` for a non-2xx answer, with Massive's reason."""
    if 200 <= status < 300:
        return
    try:
        err = msgspec.json.decode(body, type=_Error)
        reason = _text(err.error or err.message or err.status) or "no reason given"
        request_id = err.request_id
    except (msgspec.DecodeError, msgspec.ValidationError):
        reason, request_id = f"a body that is not Massive's JSON ({len(body)} bytes)", None
    raise MarketDataError(
        f"{what}: HTTP {status}: {reason}" + (f" (request_id {request_id})" if request_id else ""),
        status=status,
        request_id=request_id,
    )


_Page = TypeVar("_Page", _SnapshotPage, _ReferencePage)


def _decode(what: str, body: bytes, page_type: type[_Page]) -> _Page:
    try:
        return msgspec.json.decode(body, type=page_type)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MarketDataError(f"{what}: the answer is not Massive's JSON: {exc}") from None


def _ok(what: str, status: str | None, request_id: str | None) -> None:
    if status not in OK_STATUSES:
        raise MarketDataError(
            f"{what}: status {_text(status)!r} (want OK)"
            + (f" (request_id {request_id})" if request_id else ""),
            request_id=request_id,
        )


def _contract(what: str, ticker: str | None, details: _Details | _Reference) -> OptionContract:
    try:
        contract = parse_occ(ticker or "")
    except OptionSymbolError as exc:
        raise MarketDataError(f"{what}: {exc}") from None
    strike = details.strike_price
    if strike is not None and Decimal(str(strike)) != contract.strike:
        raise MarketDataError(
            f"{what}: {contract.symbol} says strike {strike}, its ticker {contract.strike}"
        )
    if details.contract_type not in (None, contract.right):
        raise MarketDataError(
            f"{what}: {contract.symbol} says type {_text(details.contract_type)!r}, "
            f"its ticker {contract.right}"
        )
    style: Style | None = None
    if details.exercise_style == "european":
        style = "european"
    elif details.exercise_style == "american":
        style = "american"
    shares = details.shares_per_contract
    multiplier = Decimal(str(shares)) if shares is not None and shares > 0 else None
    return contract.with_details(style=style, multiplier=multiplier)


def _entry(what: str, snap: _Snapshot) -> ChainEntry:
    details = snap.details or _Details()
    c = _contract(what, details.ticker, details)
    quote, greeks, trade = snap.last_quote, snap.greeks or _Greeks(), snap.last_trade
    mid = quote.midpoint if quote is not None else None
    if quote is not None and mid is None and quote.bid is not None and quote.ask is not None:
        mid = (quote.bid + quote.ask) / 2
    oi = snap.open_interest
    return ChainEntry(
        symbol=c.symbol,
        underlying=c.underlying,
        expiry=c.expiry,
        strike=c.strike,
        right=c.right,
        style=c.style,
        multiplier=c.multiplier,
        bid=quote.bid if quote else None,
        ask=quote.ask if quote else None,
        mid=mid,
        bid_size=quote.bid_size if quote else None,
        ask_size=quote.ask_size if quote else None,
        last_price=trade.price if trade else None,
        last_trade_ns=trade.sip_timestamp if trade else None,
        iv=snap.implied_volatility,
        delta=greeks.delta,
        gamma=greeks.gamma,
        theta=greeks.theta,
        vega=greeks.vega,
        open_interest=int(oi) if oi is not None else None,
        underlying_price=snap.underlying_asset.price if snap.underlying_asset else None,
        break_even=snap.break_even_price,
        fmv=snap.fmv,
    )


@contextmanager
def _http_status(status: int) -> Iterator[None]:
    """A page that came with a 2xx but cannot be used: the error keeps the HTTP status."""
    try:
        yield
    except MarketDataError as exc:
        exc.status = exc.status or status
        raise


def parse_chain_page(
    body: bytes, *, status: int = 200, what: str = "options chain"
) -> tuple[list[ChainEntry], str | None]:
    """One page of ``/v3/snapshot/options/{underlying}``: its entries and ``next_url``."""
    check_status(what, status, body)
    with _http_status(status):
        page = _decode(what, body, _SnapshotPage)
        _ok(what, page.status, page.request_id)
        return [_entry(what, s) for s in page.results or ()], page.next_url or None


def parse_contracts_page(
    body: bytes, *, status: int = 200, what: str = "options contracts"
) -> tuple[list[OptionContract], str | None]:
    """One page of ``/v3/reference/options/contracts``: its contracts and ``next_url``."""
    check_status(what, status, body)
    with _http_status(status):
        page = _decode(what, body, _ReferencePage)
        _ok(what, page.status, page.request_id)
        return [_contract(what, r.ticker, r) for r in page.results or ()], page.next_url or None
