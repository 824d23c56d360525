"""Option contracts: the OCC symbol, what it encodes, and the contract multiplier. Sans-I/O.

Why: an option symbol used to pass every decoder as a stock ticker, and a position of 2
contracts was booked as 2 shares (issue 24). The OCC symbol names the contract completely:
root (the underlying, up to 6 characters), expiry ``YYMMDD``, ``C``/``P``, and the strike in
thousandths over 8 digits: ``SPY260731P00395000`` is the SPY put of 2026-07-31 struck at 395.
Alpaca orders, positions and activities use it bare; Massive prefixes it with ``O:``
(reference/crypto-options.md 3a, 3d; the fixtures ``getallorders_examples.json`` "Options" and
``spec__options__Q.json``). Strategies, config, reports and positions use Alpaca's form.

The multiplier (shares per contract) is 100 unless the contract says otherwise: Alpaca's
contract carries ``multiplier`` and ``size``, Massive's snapshot ``shares_per_contract``; an
adjusted contract (after a split or merger) may deliver something else, which is why it is a
field and not a constant. Every notional, P&L, exposure and cost basis of an option is
``contracts x price x multiplier``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

Right = Literal["call", "put"]
Style = Literal["american", "european"]

STANDARD_MULTIPLIER = Decimal(100)

OCC = re.compile(r"(?:O:)?([A-Z][A-Z0-9]{0,5})(\d{2})(\d{2})(\d{2})([CP])(\d{8})")
"""``[O:]ROOT YYMMDD C|P STRIKE*1000`` (8 digits). The root may end in a digit (``SPY1``, an
adjusted contract). Matched on upper-cased text."""

_STRIKE_SCALE = Decimal(1000)
_MAX_STRIKE = Decimal("99999.999")


class OptionSymbolError(ValueError):
    """Not an OCC option symbol, or a contract that cannot exist; the message names it."""


MIN_OCC_LEN = 16
"""The shortest OCC symbol (a 1-letter root, ``YYMMDD``, ``C``/``P``, 8 strike digits): anything
shorter, every stock ticker and crypto pair, is no option without running the regex."""


def is_option_symbol(text: str) -> bool:
    """Whether ``text`` (any case, with or without ``O:``) is an OCC option symbol."""
    return (
        isinstance(text, str)
        and len(text) >= MIN_OCC_LEN
        and OCC.fullmatch(text.strip().upper()) is not None
    )


def option_key(raw: str) -> str:
    """Alpaca's form of an option symbol: upper case, no ``O:`` (``o:spy260731p00395000`` →
    ``SPY260731P00395000``). Raises :class:`OptionSymbolError` naming the input."""
    return parse_occ(raw).symbol


@dataclass(frozen=True, slots=True)
class OptionContract:
    """One listed contract, as its symbol and the venue's contract record describe it."""

    symbol: str
    underlying: str
    expiry: date
    right: Right
    strike: Decimal
    style: Style = "american"
    multiplier: Decimal = STANDARD_MULTIPLIER

    @property
    def massive_ticker(self) -> str:
        """Massive's ticker (socket ``sym``, REST ``ticker``): ``O:SPY260731P00395000``."""
        return f"O:{self.symbol}"

    def intrinsic(self, underlying_price: Decimal) -> Decimal:
        """Value per share if exercised now: ``max(S-K, 0)`` for a call, ``max(K-S, 0)`` for
        a put."""
        diff = (
            underlying_price - self.strike
            if self.right == "call"
            else self.strike - underlying_price
        )
        return diff if diff > 0 else Decimal(0)

    def in_the_money(self, underlying_price: Decimal) -> bool:
        """ITM at ``underlying_price``. Alpaca auto-exercises ITM contracts at expiry
        (crypto-options.md 3a, "Exercise"); at the money is not in the money."""
        return self.intrinsic(underlying_price) > 0

    def with_details(
        self, *, style: Style | None = None, multiplier: Decimal | None = None
    ) -> OptionContract:
        """This contract with what a venue's record adds (style, multiplier)."""
        return OptionContract(
            self.symbol,
            self.underlying,
            self.expiry,
            self.right,
            self.strike,
            style or self.style,
            multiplier if multiplier is not None else self.multiplier,
        )


def parse_occ(raw: str) -> OptionContract:
    """The contract an OCC symbol names (standard style and multiplier until a venue's record
    says otherwise).

    Raises:
        OptionSymbolError: naming the input, if it is no OCC symbol or no real date.
    """
    text = raw.strip().upper() if isinstance(raw, str) else ""
    match = OCC.fullmatch(text)
    if match is None:
        raise OptionSymbolError(
            f"symbol {str(raw)[:40]!r} is not an OCC option symbol (e.g. SPY260731P00395000)"
        )
    root, yy, mm, dd, cp, strike = match.groups()
    try:
        expiry = date(2000 + int(yy), int(mm), int(dd))
    except ValueError:
        raise OptionSymbolError(f"option {raw[:40]!r} has no real expiry date") from None
    strike_dec = Decimal(int(strike)) / _STRIKE_SCALE
    if strike_dec <= 0:
        raise OptionSymbolError(f"option {raw[:40]!r} has a zero strike")
    symbol = text[2:] if text.startswith("O:") else text
    return OptionContract(symbol, root, expiry, "call" if cp == "C" else "put", strike_dec)


def occ_symbol(
    underlying: str, expiry: date, right: Right | str, strike: Decimal | float | str
) -> str:
    """The OCC symbol (Alpaca's form) of a contract: ``occ_symbol("SPY", date(2026,7,31),
    "put", 395)`` → ``SPY260731P00395000``.

    Raises:
        OptionSymbolError: an underlying, right or strike that no contract can have.
    """
    root = underlying.strip().upper()
    if right not in ("call", "put", "C", "P", "c", "p"):
        raise OptionSymbolError(f"option type {right!r} is not call or put")
    try:
        dec = Decimal(str(strike))
    except InvalidOperation:
        raise OptionSymbolError(f"strike {strike!r} is not a number") from None
    thousandths = dec * _STRIKE_SCALE
    if not dec.is_finite() or dec <= 0 or dec > _MAX_STRIKE or thousandths != int(thousandths):
        raise OptionSymbolError(f"strike {strike!r} cannot be written in an OCC symbol")
    cp = "C" if str(right).lower() in ("call", "c") else "P"
    symbol = f"{root}{expiry:%y%m%d}{cp}{int(thousandths):08d}"
    if OCC.fullmatch(symbol) is None:
        raise OptionSymbolError(f"underlying {underlying[:40]!r} cannot root an OCC symbol")
    return symbol


def contract_from_alpaca(record: Mapping[str, Any]) -> OptionContract:
    """From Alpaca's ``GET /v2/options/contracts`` item (alpaca-py ``OptionContract``):
    ``symbol``, ``style``, ``multiplier`` (a string, ``"100"``). The symbol is authoritative
    for underlying, expiry, right and strike; a record that contradicts it is refused."""
    contract = parse_occ(str(record.get("symbol", "")))
    strike = record.get("strike_price")
    if strike is not None and Decimal(str(strike)) != contract.strike:
        raise OptionSymbolError(
            f"contract {contract.symbol} says strike {strike}, its symbol {contract.strike}"
        )
    return contract.with_details(
        style=_style(record.get("style")), multiplier=_multiplier(record.get("multiplier"))
    )


def _style(value: object) -> Style | None:
    if value in ("american", "european"):
        return value
    return None


def _multiplier(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        dec = Decimal(str(value))
    except InvalidOperation:
        raise OptionSymbolError(f"multiplier {value!r} is not a number") from None
    if not dec.is_finite() or dec <= 0:
        raise OptionSymbolError(f"multiplier {value!r} must be > 0")
    return dec


_MULTIPLIERS: dict[str, float] = {}
"""Shares per unit by instrument key: filled on first use (100 for an OCC symbol, 1 for
anything else) and by :func:`register_contract` for a contract whose record says otherwise.
Process-wide because a contract's multiplier is a fact of the contract, the same for every
book that holds it; a dict hit keeps it off the hot path's costs."""


def multiplier_of(symbol: str) -> float:
    """Shares per unit of ``symbol`` (an instrument key): the registered contract's
    multiplier, else 100 for an option symbol, else 1 (a share, a coin)."""
    found = _MULTIPLIERS.get(symbol)
    if found is None:
        found = float(STANDARD_MULTIPLIER) if OCC.fullmatch(symbol) is not None else 1.0
        _MULTIPLIERS[symbol] = found
    return found


def register_contract(contract: OptionContract) -> None:
    """Make ``contract``'s multiplier the one every book uses for its symbol."""
    _MULTIPLIERS[contract.symbol] = float(contract.multiplier)
