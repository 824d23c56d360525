"""Option chains as a strategy reads them: cached snapshots, filtered. Sans-I/O.

``Strategy.option_chain("SPY", expiry="nearest", type="call", strikes_near=5)`` must answer
inside a market callback, which may not wait on the network. So a host keeps the chains in a
:class:`ChainBook`: live, from Massive's options chain snapshot
(``/v3/snapshot/options/{underlying}``, paged; greeks, IV, open interest), fetched at start for
the underlyings the config names and in the background for any other a strategy asks for
(the first call then returns an empty list and the next ones the chain), and refreshed every
``refresh_s``; in a backtest, from the contracts the data holds, priced at their last quotes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from tradewire.engine.options import OptionSymbolError, multiplier_of, parse_occ

Right = Literal["call", "put"]


@dataclass(frozen=True, slots=True)
class ChainEntry:
    """One contract of a chain as last seen: what it is, its quote, and the model's figures
    (``None`` where the source has none: a backtest has no greeks)."""

    symbol: str  # Alpaca's OCC form, e.g. SPY260731P00395000
    underlying: str
    expiry: date
    right: Right
    strike: float
    multiplier: float = 100.0
    bid: float | None = None
    ask: float | None = None
    last: float | None = None
    iv: float | None = None
    delta: float | None = None
    gamma: float | None = None
    theta: float | None = None
    vega: float | None = None
    open_interest: int | None = None

    @property
    def mid(self) -> float | None:
        if self.bid is None or self.ask is None or self.ask <= 0:
            return None
        return (self.bid + self.ask) / 2


class ChainBook:
    """The chains a host has fetched, by underlying; asks its host for what it lacks.

    ``request(underlying)`` is the host's: it fetches in the background and calls
    :meth:`put`. It is asked once per underlying until the chain arrives (and again after
    ``refresh_s`` of age), never from inside a fetch.
    """

    def __init__(
        self,
        request: Callable[[str], None] | None = None,
        *,
        refresh_s: float = 60.0,
        clock_s: Callable[[], float] | None = None,
    ) -> None:
        self._request = request
        self._chains: dict[str, tuple[float, list[ChainEntry]]] = {}
        self._asked: set[str] = set()
        self.refresh_s = refresh_s
        self._clock_s = clock_s

    def put(self, underlying: str, entries: Iterable[ChainEntry], at_s: float = 0.0) -> None:
        """The chain of ``underlying`` as fetched at ``at_s`` (replaces the previous one)."""
        key = underlying.strip().upper()
        self._chains[key] = (at_s, sorted(entries, key=lambda e: (e.expiry, e.strike, e.right)))
        self._asked.discard(key)

    def underlyings(self) -> list[str]:
        return sorted(self._chains)

    def query(
        self,
        underlying: str,
        *,
        expiry: date | str | None = None,
        right: Right | None = None,
        strikes_near: int | None = None,
        spot: float | None = None,
    ) -> list[ChainEntry]:
        """The cached chain of ``underlying``, filtered: ``expiry`` a date, ``"nearest"`` (the
        first expiry listed) or None (all); ``right`` call or put; ``strikes_near`` the N
        strikes nearest ``spot`` (the underlying's mid; all strikes when it is unknown).
        An underlying not cached yet is asked for and answers ``[]``."""
        key = underlying.strip().upper()
        cached = self._chains.get(key)
        stale = (
            cached is not None
            and self._clock_s is not None
            and self._clock_s() - cached[0] > self.refresh_s
        )
        if (cached is None or stale) and key not in self._asked and self._request is not None:
            self._asked.add(key)
            self._request(key)
        if cached is None:
            return []
        entries = cached[1]
        if expiry == "nearest":
            expiry = entries[0].expiry if entries else None
        elif isinstance(expiry, str):
            expiry = date.fromisoformat(expiry)
        out = [
            e
            for e in entries
            if (expiry is None or e.expiry == expiry) and (right is None or e.right == right)
        ]
        if strikes_near is not None and spot is not None and out:
            strikes = sorted({e.strike for e in out}, key=lambda k: (abs(k - spot), k))
            keep = set(strikes[: max(strikes_near, 0)])
            out = [e for e in out if e.strike in keep]
        return out


def chain_from_quotes(
    symbols: Iterable[str], quotes: Mapping[str, tuple[float, float]]
) -> dict[str, list[ChainEntry]]:
    """Chains built from option symbols and their last (bid, ask): a backtest's, whose data
    holds contracts but no snapshot. Symbols that are no OCC symbol are skipped."""
    chains: dict[str, list[ChainEntry]] = {}
    for symbol in symbols:
        try:
            c = parse_occ(symbol)
        except OptionSymbolError:
            continue
        bid, ask = quotes.get(c.symbol, (None, None))
        chains.setdefault(c.underlying, []).append(
            ChainEntry(
                c.symbol,
                c.underlying,
                c.expiry,
                c.right,
                float(c.strike),
                multiplier_of(c.symbol),
                bid,
                ask,
            )
        )
    return chains
