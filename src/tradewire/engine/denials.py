"""The first risk denial of each rule, per strategy, logged with its numbers.

A strategy denied by the throttle 535 times read as ``risk-denied 535`` and nothing else;
the log now says once, for each rule and strategy, what was denied and why (the verdict's
text: the limit and the value), and says that later ones are only counted (the panel and
the summary show the counts by rule). Called where the denial is decided; no I/O but the log.
"""

from __future__ import annotations

import logging

from tradewire import fmt

log = logging.getLogger("tradewire.risk")


class FirstDenials:
    """Remembers which (strategy, rule) pairs were logged already."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()

    def note(self, strategy: str, rule: str, why: str, side: str, qty: float, symbol: str) -> None:
        if (strategy, rule) in self._seen:
            return
        self._seen.add((strategy, rule))
        log.warning(
            "strategy %s: order %s %s %s denied by risk: %s "
            "(the first %s denial of this strategy; later ones are only counted)",
            strategy,
            side,
            fmt.qty(qty),
            symbol,
            why,
            rule,
        )
