"""A live node's option chains and late subscriptions (issue 24).

``Strategy.option_chain`` reads the core's :class:`~tradewire.engine.chain.ChainBook`, which
never waits; this module fills it from Massive's options chain snapshot over our REST client
(:class:`~tradewire.venues.polygon.rest.MassiveRestClient`): the underlyings the config names
at start, any other in the background when a strategy first asks, each again once older than
``refresh_s``. A failed fetch is one log line and a counter; the strategy keeps the chain it
had (or none) and asks again later. ``Strategy.subscribe`` reaches the node's feeds through
the core's ``on_subscribe`` hook.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from tradewire.engine.chain import ChainBook, ChainEntry
from tradewire.engine.core import EngineCore
from tradewire.errors import TradewireError
from tradewire.venues.polygon.options_rest import ChainEntry as SnapshotEntry
from tradewire.venues.polygon.rest import MassiveRestClient

log = logging.getLogger("tradewire.live.chains")

RETRY_S = 10.0  # after a failed fetch, the next ask waits this long
Spawn = Callable[[Coroutine[Any, Any, None]], None]


def chain_entry(e: SnapshotEntry) -> ChainEntry:
    """A snapshot's contract as a strategy reads it."""
    return ChainEntry(
        e.symbol,
        e.underlying,
        e.expiry,
        e.right,
        float(e.strike),
        float(e.multiplier),
        e.bid,
        e.ask,
        e.last_price,
        e.iv,
        e.delta,
        e.gamma,
        e.theta,
        e.vega,
        e.open_interest,
    )


class ChainFetcher:
    """Fetches chains into a :class:`ChainBook` off the event loop's hot path."""

    def __init__(self, client: MassiveRestClient, spawn: Spawn, *, refresh_s: float = 60.0):
        self.client = client
        self.spawn = spawn
        self.book = ChainBook(self.request, refresh_s=refresh_s, clock_s=time.monotonic)
        self.fetches = 0
        self.failures = 0

    def __repr__(self) -> str:
        return f"ChainFetcher({self.client!r}, fetched={self.fetches}, failed={self.failures})"

    def request(self, underlying: str) -> None:
        """The book's hook: fetch ``underlying`` in the background."""
        self.spawn(self.fetch(underlying))

    async def fetch(self, underlying: str) -> None:
        try:
            snapshot = await self.client.option_chain(underlying)
        except (TimeoutError, TradewireError, OSError) as exc:
            self.failures += 1
            log.warning("option chain %s: %s", underlying, exc)
            # Keep what it had, aged so the next ask comes RETRY_S from now, not at once.
            aged = time.monotonic() - self.book.refresh_s + RETRY_S
            self.book.put(underlying, self.book.query(underlying), aged)
            return
        self.fetches += 1
        self.book.put(underlying, [chain_entry(e) for e in snapshot], time.monotonic())

    async def preload(self, underlyings: Iterable[str]) -> None:
        """Fetch the config's underlyings before the strategies start."""
        await asyncio.gather(*(self.fetch(u) for u in underlyings))


def attach_options(
    core: EngineCore,
    client: MassiveRestClient,
    spawn: Spawn,
    subscribe: Callable[[list[str]], None],
    *,
    refresh_s: float = 60.0,
) -> ChainFetcher:
    """Give ``core`` its chain fetcher and the feed subscription of late symbols."""
    fetcher = ChainFetcher(client, spawn, refresh_s=refresh_s)
    core.chains = fetcher.book
    core.on_subscribe = subscribe
    return fetcher
