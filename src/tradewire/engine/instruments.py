"""Instruments: one key per asset, whatever symbol form a venue uses. Sans-I/O.

Why: each venue names a crypto pair its own way. Alpaca orders say ``BTC/USD`` (the legacy
``BTCUSD`` is still accepted), Alpaca positions and activities say ``BTCUSD``, the Massive
socket says ``BTC-USD`` (``pair``), Massive REST and launchpad say ``X:BTCUSD`` / ``X:BTC-USD``
(reference/crypto-options.md 3a, 3d; the payloads in tests/fixtures/alpaca/crypto). A table
keyed by the raw symbol books a ``BTC/USD`` order and a ``BTCUSD`` position as two positions
of one asset; the reconciler then zeroes one and books the other (issue 23). So every table
(positions, working orders, risk, mids, journal, reports, metric labels) must be keyed by
:func:`instrument_key`, the ONE normalisation: a pair becomes ``BASE/QUOTE`` (the form a
strategy writes and Alpaca orders use), an equity stays its ticker under the stock rule of
:mod:`tradewire.engine.symbols`.

Increments come from Alpaca's asset (``min_order_size``, ``min_trade_increment``,
``price_increment``; for BTC/USD ``"0.0001"``, ``"0.0001"``, ``"1"``). Quantities and prices
are exact :class:`~decimal.Decimal` at those increments: a float artefact
(``0.30000000000000004``) is snapped, a value really off the increment is refused rather than
rounded, because rounding changes the order (the stock rule of ``format_price``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any, Literal, get_args

from tradewire.engine.options import (
    OCC,
    OptionContract,
    OptionSymbolError,
    contract_from_alpaca,
    parse_occ,
    register_contract,
)
from tradewire.engine.symbols import normalize_symbol

AssetClass = Literal["us_equity", "crypto", "us_option"]
ASSET_CLASSES: frozenset[str] = frozenset(get_args(AssetClass))

QUOTE_CURRENCIES: tuple[str, ...] = ("USDT", "USDC", "USD", "BTC")
"""Alpaca's crypto quote currencies (crypto spot trading doc: pairs quoted in BTC, USD, USDT,
USDC), longest first so ``BTCUSDT`` splits as ``BTC/USDT``, not ``BTCUSD/T``."""

_CODE = re.compile(r"[A-Z0-9]{1,15}")
_MAX_EQUITY_TICKER = 5
"""US equity roots have at most 5 letters; a bare ``BTCUSD`` (3 + 3) is longer, so without an
asset class a bare form is read as a pair only when base and quote both have 3+ characters."""

Number = int | float | str | Decimal
_EQUITY_TICK = Decimal("0.01")
_EQUITY_SUBDOLLAR_TICK = Decimal("0.0001")
_FRACTIONAL_SHARE = Decimal("0.000000001")  # Alpaca's 9 decimals for fractional shares


class InstrumentError(ValueError):
    """A symbol, asset or quantity the instrument model refuses; the message names it."""


def _pair(base: str, quote: str, raw: str) -> str:
    if not (_CODE.fullmatch(base) and _CODE.fullmatch(quote)):
        raise InstrumentError(f"symbol {raw[:40]!r} is not a crypto pair (e.g. BTC/USD)")
    return f"{base}/{quote}"


def _split_bare(code: str, raw: str, *, min_base: int) -> str | None:
    for quote in QUOTE_CURRENCIES:
        if code.endswith(quote) and len(code) - len(quote) >= min_base:
            return _pair(code[: -len(quote)], quote, raw)
    return None


def instrument_key(raw: str, asset_class: AssetClass | None = None) -> str:
    """The canonical key of any symbol form: ``BTC/USD`` for a pair, ``AAPL`` for a stock.

    ``asset_class`` is what the message itself says (Alpaca positions, orders and assets carry
    it); give it when known, so a bare ``SOLUSD`` is a pair and ``BTCUSD`` on an equity is a
    ticker. Without it: ``/``, ``X:`` and ``<base>-<quote currency>`` are pairs, and a bare
    form is a pair only when it is too long for a US equity root (``BTCUSD`` yes, ``ABTC`` no).

    Raises:
        InstrumentError: naming the input, when it is no symbol of that asset class.
    """
    if asset_class is not None and asset_class not in ASSET_CLASSES:
        raise InstrumentError(
            f"asset class {asset_class!r} is not one of {sorted(ASSET_CLASSES)} "
            f"(symbol {str(raw)[:40]!r})"
        )
    text = raw.strip().upper() if isinstance(raw, str) else ""
    if not text:
        raise InstrumentError("a symbol is empty")
    if asset_class == "us_option" or (asset_class is None and OCC.fullmatch(text)):
        try:
            return parse_occ(text).symbol  # Alpaca's form: no O: (issue 24)
        except OptionSymbolError as exc:
            raise InstrumentError(str(exc)) from None
    if asset_class == "us_equity":
        return _equity(text, raw)
    if text.startswith("X:"):
        text = text[2:]
        if not text:
            raise InstrumentError(f"symbol {raw[:40]!r} is not a crypto pair (e.g. X:BTCUSD)")
        asset_class = "crypto"
    if "/" in text:
        base, _, quote = text.partition("/")
        return _pair(base, quote, raw)
    if "-" in text:
        base, _, quote = text.partition("-")
        if quote in QUOTE_CURRENCIES or asset_class == "crypto":
            return _pair(base, quote, raw)
        return _equity(text, raw)  # e.g. a class share written BRK-B
    if asset_class == "crypto":
        pair = _split_bare(text, raw, min_base=1)
        if pair is None:
            raise InstrumentError(
                f"symbol {raw[:40]!r} ends in no known quote currency {list(QUOTE_CURRENCIES)}"
            )
        return pair
    if len(text) > _MAX_EQUITY_TICKER and _CODE.fullmatch(text):
        pair = _split_bare(text, raw, min_base=3)
        if pair is not None:
            return pair
    return _equity(text, raw)


def _equity(text: str, raw: str) -> str:
    try:
        return normalize_symbol(text)
    except ValueError:
        raise InstrumentError(f"symbol {raw[:40]!r} is not a ticker or crypto pair") from None


def asset_class_of(key: str) -> AssetClass:
    """The asset class of a canonical key: a pair has a ``/``, an option is an OCC symbol
    (longer than any ticker), anything else is a ticker."""
    if "/" in key:
        return "crypto"
    return "us_option" if OCC.fullmatch(key) else "us_equity"


@dataclass(frozen=True, slots=True)
class Instrument:
    """What the engine knows of one tradable asset, keyed by :func:`instrument_key`.

    ``price_increment`` for equities is the tick at or above $1 (below $1 it is 0.0001, see
    :func:`format_price`). ``always_open``: crypto trades 24/7 (crypto-options.md 3a), so no
    equity session gates it and its "day" is a calendar day, not a session.
    """

    key: str
    asset_class: AssetClass
    price_increment: Decimal
    min_order_size: Decimal
    qty_increment: Decimal
    fractionable: bool
    shortable: bool
    multiplier: Decimal = Decimal(1)
    """Shares per unit: 100 for a standard option contract, 1 for a share or a coin."""
    contract: OptionContract | None = None
    """The option contract (underlying, expiry, strike, right, style); None otherwise."""

    @property
    def base(self) -> str:
        """``BTC`` of ``BTC/USD``; the ticker of an equity."""
        return self.key.partition("/")[0]

    @property
    def quote(self) -> str:
        """The currency prices are in: ``USD`` of ``BTC/USD``; ``USD`` for an equity."""
        return self.key.partition("/")[2] or "USD"

    @property
    def always_open(self) -> bool:
        return self.asset_class == "crypto"

    @property
    def order_symbol(self) -> str:
        """Alpaca ``POST /v2/orders`` ``symbol``: ``BTC/USD``."""
        return self.key

    @property
    def position_symbol(self) -> str:
        """Alpaca positions and activities ``symbol``: ``BTCUSD``."""
        return self.key.replace("/", "")

    @property
    def feed_symbol(self) -> str:
        """Massive WebSocket ``pair``/``sym`` and subscription: ``BTC-USD`` for a pair
        (``XT.BTC-USD``), ``O:SPY260731P00395000`` for an option."""
        if self.asset_class == "us_option":
            return f"O:{self.key}"
        return self.key.replace("/", "-")

    @property
    def rest_ticker(self) -> str:
        """Massive REST ticker: ``X:BTCUSD`` for a pair, ``O:…`` for an option, the ticker
        for an equity."""
        if self.asset_class == "crypto":
            return f"X:{self.position_symbol}"
        return f"O:{self.key}" if self.asset_class == "us_option" else self.key

    @classmethod
    def equity(
        cls, symbol: str, *, fractionable: bool = True, shortable: bool = True
    ) -> Instrument:
        """A US equity under the stock rules (cent tick, 9-decimal fractional shares)."""
        step = _FRACTIONAL_SHARE if fractionable else Decimal(1)
        return cls(
            key=instrument_key(symbol, "us_equity"),
            asset_class="us_equity",
            price_increment=_EQUITY_TICK,
            min_order_size=step,
            qty_increment=step,
            fractionable=fractionable,
            shortable=shortable,
        )

    @classmethod
    def option(cls, contract: OptionContract | str) -> Instrument:
        """An option contract: whole contracts, a cent tick, the contract's multiplier.

        UNCONFIRMED: Alpaca's options price increment. Exchanges quote some classes in
        nickels above $3; Alpaca's docs found say nothing, and alpaca-py validates no
        increment, so the engine checks cents and leaves the rest to the venue's answer.
        """
        if isinstance(contract, str):
            try:
                contract = parse_occ(contract)
            except OptionSymbolError as exc:
                raise InstrumentError(str(exc)) from None
        return cls(
            key=contract.symbol,
            asset_class="us_option",
            price_increment=_EQUITY_TICK,
            min_order_size=Decimal(1),
            qty_increment=Decimal(1),
            fractionable=False,
            shortable=True,  # sell to open: what the account's options level allows
            multiplier=contract.multiplier,
            contract=contract,
        )

    @classmethod
    def from_alpaca_contract(cls, record: Mapping[str, Any]) -> Instrument:
        """From Alpaca's ``GET /v2/options/contracts`` item (its multiplier, style); the
        multiplier becomes the one every book uses for the symbol."""
        try:
            contract = contract_from_alpaca(record)
            register_contract(contract)
            return cls.option(contract)
        except OptionSymbolError as exc:
            raise InstrumentError(str(exc)) from None

    @classmethod
    def from_alpaca_asset(cls, asset: Mapping[str, Any]) -> Instrument:
        """From Alpaca's ``GET /v2/assets/{symbol}`` JSON (as decoded; ``class`` names the
        asset class). A crypto asset must carry its three increments: guessing them would
        send orders Alpaca rejects."""
        klass = asset.get("class", asset.get("asset_class"))
        symbol = str(asset.get("symbol", ""))
        if klass == "us_equity":
            return cls.equity(
                symbol,
                fractionable=bool(asset.get("fractionable", False)),
                shortable=bool(asset.get("shortable", False)),
            )
        if klass == "us_option":
            return cls.option(symbol)
        if klass != "crypto":
            raise InstrumentError(f"asset class {klass!r} of {symbol[:40]!r} is not supported")
        return cls(
            key=instrument_key(symbol, "crypto"),
            asset_class="crypto",
            price_increment=_increment(asset, "price_increment", symbol),
            min_order_size=_increment(asset, "min_order_size", symbol),
            qty_increment=_increment(asset, "min_trade_increment", symbol),
            fractionable=bool(asset.get("fractionable", True)),
            shortable=bool(asset.get("shortable", False)),
        )


def _increment(asset: Mapping[str, Any], name: str, symbol: str) -> Decimal:
    value = asset.get(name)
    if value is None:
        raise InstrumentError(f"crypto asset {symbol[:40]!r} has no {name}")
    try:
        dec = Decimal(str(value))
    except InvalidOperation:
        raise InstrumentError(f"{name} {value!r} of {symbol[:40]!r} is not a number") from None
    if not dec.is_finite() or dec <= 0:
        raise InstrumentError(f"{name} {value!r} of {symbol[:40]!r} must be > 0")
    return dec


def to_decimal(value: Number, name: str) -> Decimal:
    """An exact positive Decimal; a float goes through its shortest repr (``0.0105`` is
    ``Decimal("0.0105")``, not the binary expansion)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise InstrumentError(f"{name} must be a number, got {value!r}")
    try:
        dec = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise InstrumentError(f"{name} {value!r} is not a number") from None
    if not dec.is_finite() or dec <= 0:
        raise InstrumentError(f"{name} must be > 0, got {value!r}")
    return dec


def _on_increment(value: Number, increment: Decimal, name: str) -> Decimal:
    dec = to_decimal(value, name)
    snapped = (dec / increment).to_integral_value() * increment
    # Float noise is relative to the value (~1e-16); allow 1e-12 of it, capped far below the
    # increment so a value really off the grid is never snapped onto it.
    tolerance = min(abs(dec) * Decimal("1e-12"), increment / 1000)
    if abs(snapped - dec) > tolerance:
        raise InstrumentError(f"{name} {value} is not a multiple of {increment:f}")
    return snapped


def _text(dec: Decimal) -> str:
    # normalize() drops trailing zeros; "f" never writes an exponent (6.5E+4 -> "65000").
    return format(dec.normalize(), "f")


def format_qty(instrument: Instrument, value: Number, name: str = "qty") -> str:
    """``value`` as the exact request text at the asset's quantity increment.

    Raises:
        InstrumentError: not a positive number, off the increment, or below the minimum.
    """
    dec = _on_increment(value, instrument.qty_increment, name)
    if dec < instrument.min_order_size:
        raise InstrumentError(
            f"{name} {value} of {instrument.key} is below the minimum order size "
            f"{instrument.min_order_size:f}"
        )
    return _text(dec)


def floor_qty(instrument: Instrument, value: Number) -> Decimal:
    """``value`` rounded DOWN to the quantity increment (0 when below one increment).

    For strategies that size by cash (``250 / price``): rounding down never buys more than
    the cash allows; the caller decides what a result below the minimum means.
    """
    dec = to_decimal(value, "qty")
    step = instrument.qty_increment
    return ((dec / step).to_integral_value(rounding=ROUND_FLOOR) * step).normalize()


def format_price(instrument: Instrument, value: Number, name: str = "price") -> str:
    """``value`` as the exact request text at the asset's price increment (for an equity the
    stock tick: 0.01 at or above $1, 0.0001 below).

    Raises:
        InstrumentError: not a positive number, or off the increment.
    """
    increment = instrument.price_increment
    if instrument.asset_class == "us_equity" and to_decimal(value, name) < 1:
        increment = _EQUITY_SUBDOLLAR_TICK
    return _text(_on_increment(value, increment, name))


class InstrumentTable:
    """The instruments a host trades, found by any symbol form of each.

    One entry per key: adding an instrument whose key is already present replaces it (a
    refreshed asset), it never makes a second entry.
    """

    __slots__ = ("_by_key",)

    def __init__(self, instruments: Iterable[Instrument] = ()) -> None:
        self._by_key: dict[str, Instrument] = {}
        for instrument in instruments:
            self.add(instrument)

    def add(self, instrument: Instrument) -> None:
        self._by_key[instrument.key] = instrument

    def get(self, symbol: str, asset_class: AssetClass | None = None) -> Instrument:
        """The instrument of ``symbol`` in any form; KeyError naming its key if unknown."""
        key = instrument_key(symbol, asset_class)
        try:
            return self._by_key[key]
        except KeyError:
            raise KeyError(f"no instrument {key} (from symbol {symbol!r})") from None

    def __contains__(self, symbol: object) -> bool:
        if not isinstance(symbol, str):
            return False
        try:
            return instrument_key(symbol) in self._by_key
        except InstrumentError:
            return False

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._by_key.values())

    def keys(self) -> list[str]:
        return list(self._by_key)
