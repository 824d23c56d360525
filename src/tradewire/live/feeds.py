"""Which Massive market each symbol streams on, and the channels to ask for there.

Massive serves each market as a path of one host (``/stocks``, ``/crypto``, ``/options``), with
its own event names and ticker forms: a stock's quotes are ``Q.AAPL``, a crypto pair's
``XQ.BTC-USD`` (the pair the engine keys ``BTC/USD``), an option's ``Q.O:SPY260731P00395000``
(the contract the engine keys in Alpaca's form, ``SPY260731P00395000``;
reference/crypto-options.md 3d). A node opens one connection per market its symbols need, so a
strategy with stock, crypto and option symbols gets each over its own connection; a stock-only
node opens exactly the one it always did.

Massive allows one connection per cluster and limits options quotes (``Q``) to 1,000 contracts
per connection, so more than that is refused here, whole and by name
(:func:`check_option_quotes`), never cut to the first thousand.
"""

from __future__ import annotations

from collections.abc import Iterable

from tradewire.engine.instruments import asset_class_of
from tradewire.errors import ConfigError

STOCK_CHANNELS = ("Q", "T", "AM")  # quotes, trades, minute bars
CRYPTO_CHANNELS = ("XQ", "XT", "XA")  # the crypto cluster's quotes, trades, minute bars
OPTION_CHANNELS = ("Q", "T", "AM")  # the options cluster's quotes, trades, minute bars
OPTION_QUOTE_LIMIT = 1_000
"""Contracts one options connection may stream quotes of (Massive; reference 3d)."""


def market_of(symbol: str) -> str:
    """``crypto`` for a pair (the engine's key has a ``/``), ``options`` for an OCC contract,
    else ``stocks``."""
    if "/" in symbol:
        return "crypto"
    return "options" if asset_class_of(symbol) == "us_option" else "stocks"


def channels_by_market(symbols: Iterable[str]) -> dict[str, list[str]]:
    """The subscription of each market the symbols need (none for a market they do not)."""
    out: dict[str, list[str]] = {}
    for symbol in sorted(symbols):
        market = market_of(symbol)
        if market == "crypto":
            pair = symbol.replace("/", "-")  # BTC/USD streams as BTC-USD
            out.setdefault("crypto", []).extend(f"{ch}.{pair}" for ch in CRYPTO_CHANNELS)
        elif market == "options":  # SPY260731P00395000 streams as O:SPY260731P00395000
            out.setdefault("options", []).extend(f"{ch}.O:{symbol}" for ch in OPTION_CHANNELS)
        else:
            out.setdefault("stocks", []).extend(f"{ch}.{symbol}" for ch in STOCK_CHANNELS)
    return out


def check_option_quotes(channels: Iterable[str], subscribed: Iterable[str] = ()) -> None:
    """Refuse an options subscription that would stream quotes of more than
    :data:`OPTION_QUOTE_LIMIT` contracts on the one connection (``subscribed``: the channels it
    already has).

    Raises:
        ConfigError: one line with the count and the limit.
    """
    quotes = {c for c in (*subscribed, *channels) if c.startswith("Q.")}
    if len(quotes) > OPTION_QUOTE_LIMIT:
        raise ConfigError(
            f"options quotes of {len(quotes):,} contracts requested; Massive streams at most "
            f"{OPTION_QUOTE_LIMIT:,} per connection and allows one connection: trade fewer contracts"
        )
