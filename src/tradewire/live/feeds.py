"""Which Massive market each symbol streams on, and the channels to ask for there.

Massive serves each market as a path of one host (``/stocks``, ``/crypto``), with its own
event names and ticker forms: a stock's quotes are ``Q.AAPL``, a crypto pair's ``XQ.BTC-USD``
(the pair the engine keys ``BTC/USD``, reference/crypto-options.md). A node opens one
connection per market its symbols need, so a strategy with stock and crypto symbols gets
both, each over its own connection; a stock-only node opens exactly the one it always did.
"""

from __future__ import annotations

from collections.abc import Iterable

STOCK_CHANNELS = ("Q", "T", "AM")  # quotes, trades, minute bars
CRYPTO_CHANNELS = ("XQ", "XT", "XA")  # the crypto cluster's quotes, trades, minute bars


def market_of(symbol: str) -> str:
    """``crypto`` for a pair (the engine's key has a ``/``), else ``stocks``."""
    return "crypto" if "/" in symbol else "stocks"


def channels_by_market(symbols: Iterable[str]) -> dict[str, list[str]]:
    """The subscription of each market the symbols need (none for a market they do not)."""
    out: dict[str, list[str]] = {}
    for symbol in sorted(symbols):
        if market_of(symbol) == "crypto":
            pair = symbol.replace("/", "-")  # BTC/USD streams as BTC-USD
            out.setdefault("crypto", []).extend(f"{ch}.{pair}" for ch in CRYPTO_CHANNELS)
        else:
            out.setdefault("stocks", []).extend(f"{ch}.{symbol}" for ch in STOCK_CHANNELS)
    return out
