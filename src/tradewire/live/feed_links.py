"""A node's market-data connections: one Massive connection per market its symbols need.

The stocks connection exists from the start; ``/crypto`` and ``/options`` open when a symbol of
theirs is first streamed (the strategies' at start, a gateway worker's, or one a strategy
subscribed to later). Each connection's events reach the one hot path
(:meth:`TradingNode._on_feed_events`); a subscription Massive would refuse (more than 1,000
option quote contracts on a connection) is refused here with one line. A mixin of
:class:`~tradewire.live.node.TradingNode`, as :class:`~tradewire.live.outcomes.OrderOutcomes`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any

from tradewire.errors import ConfigError
from tradewire.live.feeds import channels_by_market, check_option_quotes
from tradewire.venues.polygon.client import PolygonClient

if TYPE_CHECKING:
    from tradewire.engine.core import EngineCore
    from tradewire.engine.risk import RiskEngine
    from tradewire.engine.strategy import Strategy
    from tradewire.venues.polygon.messages import MarketEvent

log = logging.getLogger("tradewire.live.node")


class FeedLinks:
    """The node's feed handlers (a mixin: they read and change the node's state)."""

    feeds: dict[str, PolygonClient]
    feed: PolygonClient
    core: EngineCore
    risk: RiskEngine
    strategies: list[Strategy]
    _feed_args: tuple[Any, str, Any, Any]
    _on_feed_events: Callable[[list[MarketEvent], int], None]
    _spawn: Callable[[Coroutine[Any, Any, Any]], None]

    def _feed_of(self, market: str) -> PolygonClient:
        client = self.feeds.get(market)
        if client is None:
            key, url, config, options = self._feed_args
            client = self.feeds[market] = PolygonClient(
                key, url=url, config=config, socket_options=options, market=market
            )
            self._listen(client)
            client.raw_sink = self.feed.raw_sink  # a gateway forwards every market's frames
        return client

    def forward_frames(self, sink: Callable[[memoryview, int], None] | None) -> None:
        """Hand every market connection's raw frames (and those opened later) to ``sink``."""
        for client in self.feeds.values():
            client.raw_sink = sink

    def _listen(self, client: PolygonClient) -> None:
        client.on_events(self._on_feed_events)
        client.on_stale = lambda err: self.risk.on_stale_feed(str(err))

    def spawn_subscribe(self, symbols: list[str]) -> None:
        """Stream ``symbols`` for a gateway's workers, each on its market (risk needs mids)."""
        self.core.market.track(symbols)
        try:
            wanted = self._subscriptions(symbols)
        except ConfigError as exc:  # a worker's options over the limit: none of them stream
            log.error("not streaming %s: %s", ",".join(symbols)[:200], exc)
            wanted = {m: c for m, c in channels_by_market(symbols).items() if m != "options"}
        for market, channels in wanted.items():
            self._spawn(self._feed_of(market).subscribe(channels))

    def _subscriptions(self, symbols: Iterable[str]) -> dict[str, list[str]]:
        """The channels of ``symbols`` per market; refuses (ConfigError) option quotes beyond
        what one Massive options connection streams, counting those it already has."""
        wanted = channels_by_market(symbols)
        if "options" in wanted:
            feed = self.feeds.get("options")
            check_option_quotes(wanted["options"], feed.session.desired if feed else ())
        return wanted

    def spawn_unsubscribe(self, symbols: list[str]) -> None:
        for market, channels in channels_by_market(symbols).items():
            self._spawn(self._feed_of(market).unsubscribe(channels))
