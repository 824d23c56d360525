"""The venue simulator as one object: market state, feed, broker and a data source.

``tradewire sim`` runs this in its own process; tests run it on their own loop. Replay reads
Polygon flat files and ``tradewire record`` recordings (here, not in ``sources``, because a
recording is read with the recorder's reader).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import msgspec

from tradewire.record.manifest import MANIFEST_NAME, SEGMENT_SUFFIX
from tradewire.record.reader import iter_frames, market_part, segment_files
from tradewire.sim.broker.server import AlpacaBrokerServer
from tradewire.sim.crypto_source import SyntheticCrypto
from tradewire.sim.feed.server import PolygonFeedServer
from tradewire.sim.market import MarketState
from tradewire.sim.option_chain import OptionChains
from tradewire.sim.option_source import SyntheticOptions, run_options
from tradewire.sim.sources import (
    Event,
    SyntheticMarket,
    flat_batches,
    merge_flat_files,
    replay_batches,
    run_synthetic,
)
from tradewire.sim.triggers import TRIGGER_SYMBOL, TriggerLog, run_triggers

log = logging.getLogger(__name__)


def is_recording(path: Path) -> bool:
    """A ``tradewire record`` folder or one of its ``.twr`` segments (else: a flat file)."""
    if path.is_dir():
        return (path / MANIFEST_NAME).exists() or bool(segment_files(path))
    return path.suffix == SEGMENT_SUFFIX


def read_recording(path: Path) -> Iterator[tuple[int, list[Event]]]:
    """``(recv_ns, market events)`` per recorded frame, keeping the recorded framing.

    Status messages are dropped: they belonged to the recorder's session, and the
    simulator speaks its own to each client.
    """
    for recv_ns, frame in iter_frames(path):
        try:
            items = msgspec.json.decode(frame)
        except msgspec.DecodeError:
            log.warning("%s: skipped a recorded frame that is not JSON", path)
            continue
        if not isinstance(items, list):
            continue
        events = [e for e in items if isinstance(e, dict) and e.get("ev", "status") != "status"]
        if events:
            yield recv_ns, events


def replay_sources(paths: Iterable[Path]) -> Iterator[tuple[int, list[Event]]]:
    """The frames of flat files (merged, then batched) and recordings, in time order."""
    paths = list(paths)
    recordings = [p for p in paths if is_recording(p)]
    # A recording's crypto and options clusters are its crypto/ and options/ parts: replayed
    # beside it, the simulator's feed sends their frames to /crypto and /options subscribers
    # (issues 23, 24).
    parts = [
        part
        for p in recordings
        for market in ("crypto", "options")
        if (part := market_part(p, market)) is not None
    ]
    streams = [read_recording(p) for p in (*recordings, *parts)]
    flat = [p for p in paths if not is_recording(p)]
    if flat:
        streams.insert(0, flat_batches(merge_flat_files(flat)))
    return heapq.merge(*streams, key=lambda batch: batch[0])


@dataclass(slots=True)
class VenueConfig:
    """Everything ``tradewire sim`` can be told; defaults suit tests and ``tradewire run``."""

    host: str = "127.0.0.1"
    feed_port: int = 0
    polygon_keys: Sequence[str] = ("test-key",)
    max_connections: int = 1
    eviction: str = "oldest"
    symbols: Sequence[str] = ("AAPL", "MSFT")
    rate: float = 1_000.0
    tick_s: float = 0.001
    seed: int = 7
    replay_files: Sequence[Path] = field(default_factory=list)  # flat files, recordings
    speed: float = 1.0
    # Hold the replay until a client subscribes to this channel (e.g. "Q.AAPL"): a client
    # that connects after the simulator is ready still sees the recording from its start.
    replay_wait_for: str | None = None
    duration_s: float = 0.0
    auth_timeout_s: float = 10.0
    broker_port: int = 0
    alpaca_key: str = "test-key"
    alpaca_secret: str = "test-secret"  # noqa: S105 - the simulator's documented test secret
    # More broker accounts by name -> (key id, secret key), beside the main one above
    # (``--accounts``, issue 25): each key pair trades its own book on the same market.
    accounts: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    rate_limit_per_minute: int | None = None
    partial_fill_probability: float = 0.0
    # Tick-to-trade triggers (sim/triggers.py); 0 = none.
    trigger_count: int = 0
    trigger_rate: float = 200.0
    trigger_symbol: str = TRIGGER_SYMBOL
    trigger_warmup_s: float = 1.0
    # Crypto pairs (``BTC/USD``; ``BTCUSD`` and ``BTC-USD`` are read too): listed by the broker
    # under Alpaca's crypto rules and, unless replaying, quoted 24/7 on the feed's /crypto
    # cluster (XQ/XT) at ``crypto_rate`` events/s, beside the stocks on /stocks.
    crypto: Sequence[str] = ()
    crypto_rate: float = 100.0
    # Crypto fee per fill in basis points, in the asset received, posted as CFEE activities;
    # 0 = none (Alpaca's tier-1 taker fee is 25).
    crypto_fee_bps: float = 0.0
    # Option underlyings (``SPY``): each is also quoted as a stock (added to ``symbols`` when
    # absent), gets a chain (sim/option_chain.py) and, unless replaying, its subscribed
    # contracts are quoted on the feed's /options cluster (Q, T, A, AM; sim/option_source.py).
    options: Sequence[str] = ()


class VenueSimulator:
    """Feed server plus a synthetic or replayed source, sharing one :class:`MarketState`."""

    def __init__(
        self,
        config: VenueConfig,
        *,
        stamp_sink: Callable[[int, int], None] | None = None,
        arrival_sink: Callable[[str, int], None] | None = None,
    ) -> None:
        underlyings = [u.strip().upper() for u in config.options]
        missing = [u for u in underlyings if u not in {s.upper() for s in config.symbols}]
        if missing:  # an option's underlying is quoted too: the chain is priced from it
            config = replace(config, symbols=(*config.symbols, *missing))
        self.config = config
        self.market = MarketState()
        # The listed option contracts and their model (issue 24): the feed's options source
        # prices them, and the broker side can reach them here.
        self.option_chains = OptionChains()
        self.options_task: asyncio.Task[int] | None = None
        self.feed = PolygonFeedServer(
            self.market,
            host=config.host,
            port=config.feed_port,
            api_keys=config.polygon_keys,
            max_connections_per_key=config.max_connections,
            eviction="newest" if config.eviction == "newest" else "oldest",
            auth_timeout=config.auth_timeout_s,
            stamp_sink=stamp_sink,
        )
        self.market.listed.update(s.upper() for s in config.symbols)
        self.broker = AlpacaBrokerServer(
            self.market,
            host=config.host,
            port=config.broker_port,
            key_id=config.alpaca_key,
            secret_key=config.alpaca_secret,
            accounts=config.accounts,
            rate_limit_per_minute=config.rate_limit_per_minute,
            partial_fill_probability=config.partial_fill_probability,
            seed=config.seed,
            arrival_sink=arrival_sink,
            crypto=config.crypto,
            crypto_fee_bps=config.crypto_fee_bps,
            option_chains=self.option_chains,
        )
        self.source_task: asyncio.Task[int] | None = None
        self.crypto_task: asyncio.Task[int] | None = None
        self.triggers = TriggerLog(config.trigger_symbol, config.trigger_rate, config.trigger_count)
        self.trigger_task: asyncio.Task[None] | None = None
        if config.trigger_count and arrival_sink is None:
            self.broker.arrival_sink = self.triggers.on_order_arrival

        async def triggers_json(_: object) -> dict[str, object]:
            return self.triggers.as_json()

        async def trigger_status(_: object) -> dict[str, object]:
            return self.triggers.status()

        self.broker.admin_routes["triggers"] = triggers_json
        self.broker.admin_routes["trigger-status"] = trigger_status

    @property
    def feed_url(self) -> str:
        return self.feed.url()

    @property
    def broker_url(self) -> str:
        return self.broker.base_url

    async def start(self) -> None:
        await self.feed.start()
        await self.broker.start()

    def start_source(self) -> asyncio.Task[int]:
        cfg = self.config
        if cfg.replay_files:
            batches = replay_sources(cfg.replay_files)
            coro = self._replay_when_subscribed(batches)
        else:
            synthetic = SyntheticMarket(list(cfg.symbols), seed=cfg.seed)
            coro = run_synthetic(
                self.feed.publish,
                synthetic,
                rate=cfg.rate,
                duration_s=cfg.duration_s,
                tick_s=cfg.tick_s,
            )
        loop = asyncio.get_running_loop()
        self.source_task = loop.create_task(coro, name="sim-source")
        if cfg.crypto and not cfg.replay_files:
            self.crypto_task = loop.create_task(
                run_synthetic(
                    self.feed.publish,
                    SyntheticCrypto(cfg.crypto, seed=cfg.seed),
                    rate=cfg.crypto_rate,
                    duration_s=cfg.duration_s,
                    tick_s=max(cfg.tick_s, 0.001),
                    bars=False,
                ),
                name="sim-crypto-source",
            )
        if cfg.options and not cfg.replay_files:
            feed = self.feed
            source = SyntheticOptions(self.option_chains, cfg.options, self.market, seed=cfg.seed)
            self.options_task = loop.create_task(
                run_options(feed.publish, source, feed.has_subscriber, duration_s=cfg.duration_s),
                name="sim-options-source",
            )
        if cfg.trigger_count:
            channel = f"Q.{cfg.trigger_symbol}"
            self.trigger_task = loop.create_task(
                run_triggers(
                    self.feed.publish,
                    self.triggers,
                    wait_subscribed=lambda: self.feed.wait_for_subscribers(channel, timeout_s=3600),
                    warmup_s=cfg.trigger_warmup_s,
                ),
                name="sim-triggers",
            )
        return self.source_task

    async def _replay_when_subscribed(self, batches: Iterable[tuple[int, list[Event]]]) -> int:
        cfg = self.config
        if cfg.replay_wait_for:
            await self.feed.wait_for_subscribers(cfg.replay_wait_for, timeout_s=3600)
        return await replay_batches(self.feed.publish, batches, speed=cfg.speed)

    async def stop(self) -> None:
        for task in (self.trigger_task, self.crypto_task, self.options_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.source_task is not None:
            self.source_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.source_task
        await self.broker.stop()
        await self.feed.stop()

    async def __aenter__(self) -> VenueSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
