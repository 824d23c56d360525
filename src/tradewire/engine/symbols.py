"""One rule for tickers everywhere: upper case, the way the feed and the broker name them.

Polygon/Massive and Alpaca name US equities in upper case (``AAPL``, ``BRK.B``); a lower-case
``aapl`` used to be refused by the config, select nothing in a backtest ("no events
selected"), be upper-cased silently by ``record`` and pass unchanged to the broker. Now the
config, ``worker --symbols``, ``backtest --symbols``, ``record --symbols``, a strategy's own
orders and the Alpaca client all go through :func:`normalize_symbol`: ``aapl`` means
``AAPL``, and what is no ticker at all is one clear error. Sans-I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

TICKER = re.compile(r"[A-Z][A-Z0-9.\-]{0,15}")
"""A ticker as normalized: a letter, then letters, digits, ``.`` or ``-`` (16 at most)."""


def normalize_symbol(raw: str) -> str:
    """``" aapl "`` → ``"AAPL"``; ValueError (naming the input) if it is no ticker."""
    symbol = raw.strip().upper() if isinstance(raw, str) else ""
    if not symbol:
        raise ValueError("a symbol is empty")
    if not TICKER.fullmatch(symbol):
        raise ValueError(f"symbol {raw[:40]!r} is not a ticker (e.g. AAPL, BRK.B)")
    return symbol


def normalize_symbols(raw: Iterable[str]) -> list[str]:
    """Each of ``raw`` normalized, in order, duplicates (``aapl``, ``AAPL``) kept once."""
    return list(dict.fromkeys(normalize_symbol(s) for s in raw))
