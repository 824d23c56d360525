"""One rule for tickers everywhere: upper case, the way the feed and the broker name them.

Polygon/Massive and Alpaca name US equities in upper case (``AAPL``, ``BRK.B``); a lower-case
``aapl`` used to be refused by the config, select nothing in a backtest ("no events
selected"), be upper-cased silently by ``record`` and pass unchanged to the broker. Now the
config, ``worker --symbols``, ``backtest --symbols``, ``record --symbols``, a strategy's own
orders and the Alpaca client all go through :func:`normalize_symbol`: ``aapl`` means
``AAPL``, and what is no ticker at all is one clear error. Sans-I/O.

A crypto pair (a ``/`` in it, or ``asset_class="crypto"``) is the instrument key of
:func:`tradewire.engine.instruments.instrument_key`: ``btc/usd`` and ``BTCUSD`` (as crypto) mean
``BTC/USD`` (issue 23). Without a ``/`` or the class, the stock rule above, unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tradewire.engine.options import OCC, option_key

TICKER = re.compile(r"[A-Z][A-Z0-9.\-]{0,15}")
"""A ticker as normalized: a letter, then letters, digits, ``.`` or ``-`` (16 at most)."""


def normalize_symbol(raw: str, asset_class: str | None = None) -> str:
    """``" aapl "`` → ``"AAPL"``, ``"btc/usd"`` → ``"BTC/USD"``; ValueError (naming the
    input) if it is no ticker, pair or OCC option symbol (``o:spy260731p00395000`` →
    ``SPY260731P00395000``). ``asset_class`` (``us_equity``, ``crypto``, ``us_option``) is what
    the caller knows of it: ``BTCUSD`` is a pair only as ``crypto``."""
    symbol = raw.strip().upper() if isinstance(raw, str) else ""
    if not symbol:
        raise ValueError("a symbol is empty")
    if asset_class == "us_option" or (asset_class is None and OCC.fullmatch(symbol)):
        return option_key(symbol)  # OptionSymbolError is a ValueError (issue 24)
    if asset_class == "crypto" or (asset_class is None and "/" in symbol):
        # Imported here: instruments builds on this module (its equity rule is the one above).
        from tradewire.engine.instruments import instrument_key

        return instrument_key(symbol, "crypto")  # InstrumentError is a ValueError
    if not TICKER.fullmatch(symbol):
        raise ValueError(f"symbol {raw[:40]!r} is not a ticker (e.g. AAPL, BRK.B)")
    return symbol


def normalize_symbols(raw: Iterable[str]) -> list[str]:
    """Each of ``raw`` normalized, in order, duplicates (``aapl``, ``AAPL``) kept once."""
    return list(dict.fromkeys(normalize_symbol(s) for s in raw))
