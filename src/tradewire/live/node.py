"""The trading node: feed → strategy → risk → journal → order write, inline on one loop.

Hot path (one call stack, from picows' frame callback): decode → ``Strategy.on_quote`` →
``submit`` → risk check → ``intent`` journal record → request bytes written. Everything
else (the ``sent`` record, fsync, metrics drain, panel, fills) runs after the write.

Every fact about an order (REST reply, trade update, lookup, recovery, reconciliation)
becomes an engine event applied by one function, :meth:`Ledger.apply` (state machine →
journal → positions → strategy). Start-up is reconciliation before trading: replay the
journal, settle every in-doubt order by client_order_id, reconcile every open order and
position with the broker, then start the stream and the feed. Reconciliation then goes on:
after every trade_updates gap and on a timer while orders are open.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from tradewire.engine import native as compiled
from tradewire.engine import orders as o
from tradewire.engine.account import Account
from tradewire.engine.config import JournalConfig, RiskConfig
from tradewire.engine.core import EngineCore
from tradewire.engine.events import SessionStarted
from tradewire.engine.ids import ClientOrderIds
from tradewire.engine.instruments import InstrumentTable
from tradewire.engine.journal.store import Journal
from tradewire.engine.journal.sync import JournalSyncer
from tradewire.engine.ledger import Ledger
from tradewire.engine.native_submit import attach as attach_native
from tradewire.engine.positions import PositionBook
from tradewire.engine.risk import RiskEngine, TradingState
from tradewire.engine.session import SessionClock, crypto_pnl
from tradewire.engine.strategy import Strategy
from tradewire.live.chains import attach_options
from tradewire.live.feed_links import FeedLinks
from tradewire.live.finish import CancelOutcome, cancel_and_verify, kill_switch, verify
from tradewire.live.housekeeping import book_gauges, bound_memory, start_journal_syncer
from tradewire.live.outcomes import OrderOutcomes
from tradewire.live.reconciler import Reconciler
from tradewire.live.recovery import load_instruments, replay_journal, settle_with_broker
from tradewire.live.retrying import retrying
from tradewire.live.snapshot import NodeSnapshot, node_snapshot
from tradewire.live.timers import Every, LoopClock
from tradewire.live.venues import Venues as Venues  # the node's settings, named here too
from tradewire.metrics.recorder import Recorder
from tradewire.tuning.sockets import SocketOptions
from tradewire.venues.alpaca.client import AlpacaClient
from tradewire.venues.alpaca.config import AlpacaBrokerConfig
from tradewire.venues.alpaca.order_builder import DEFAULT_INSTRUMENTS, build_any
from tradewire.venues.alpaca.order_template import order_template
from tradewire.venues.alpaca.stream import TradeStream
from tradewire.venues.polygon.client import PolygonClient
from tradewire.venues.polygon.config import PolygonFeedConfig
from tradewire.venues.polygon.messages import MarketEvent
from tradewire.venues.polygon.rest import DEFAULT_BASE_URL, MassiveRestClient

log = logging.getLogger(__name__)
_perf = time.perf_counter_ns
_INF = float("inf")


class TradingNode(OrderOutcomes, FeedLinks):
    """Runs strategies against one feed and one broker: the engine core's host for the
    live venues (its clock is the event loop's, its venue port is Alpaca's REST client)."""

    def __init__(
        self,
        venues: Venues,
        strategies: list[Strategy],
        *,
        feed_config: PolygonFeedConfig | None = None,
        broker_config: AlpacaBrokerConfig | None = None,
        risk_config: RiskConfig | None = None,
        journal_config: JournalConfig | None = None,
        journal_path: Path | None = None,
        recorder: Recorder | None = None,
        socket_options: SocketOptions | None = None,
        housekeeping_cpus: frozenset[int] | None = None,
        reconcile_interval_s: float = 5.0,
        reconcile_timeout_s: float = 10.0,
        finish_timeout_s: float = 15.0,
        strategy_max_errors: int = 20,
        strategy_error_window_s: float = 60.0,
        broker: AlpacaClient | None = None,
        stream: TradeStream | None = None,
        feed: PolygonClient | None = None,
        option_underlyings: Sequence[str] = (),
        chain_refresh_s: float = 60.0,
        ids: ClientOrderIds | None = None,
        halt_if_journal_killed: bool = False,
    ) -> None:
        """Build the node; ``broker``, ``stream`` and ``feed`` may be given (tests, a host
        that shares them), else they are built from ``venues``. The node takes their
        callbacks over either way: every fact they report goes through its ledger."""
        self.venues = venues
        self.housekeeping_cpus = housekeeping_cpus
        self.strategies = strategies
        self.recorder = recorder or Recorder()
        self.counters = self.recorder.counters
        self.oms = o.OrderManager()
        self.book = PositionBook()
        # A crypto order's daily loss is the pairs' P&L over the crypto day (_tick rolls it).
        self.risk = RiskEngine(
            risk_config or RiskConfig(), crypto_pnl=lambda: crypto_pnl(self.book.positions)
        )
        jcfg = journal_config or JournalConfig()
        self.journal_config = jcfg
        self.journal = Journal(journal_path or jcfg.path / "engine.twj", fsync=jcfg.fsync)
        # fsync "batch": a child process syncs the journal (engine/journal/sync.py); if it
        # cannot start, the loop syncs after each burst of records instead.
        self._journal_syncer: JournalSyncer | None = None
        self.ids = ids or ClientOrderIds()
        self.halt_if_journal_killed = halt_if_journal_killed
        self.broker = broker or AlpacaClient(
            venues.alpaca_key,
            venues.alpaca_secret,
            base_url=venues.broker_url,
            config=broker_config,
            socket_options=socket_options,
        )
        self.broker.on_order_event = self._on_client_event
        stream_config = broker_config or AlpacaBrokerConfig()
        self.stream_start_timeout_s = stream_config.stream_start_timeout_s
        self.stream = stream or TradeStream(
            venues.stream_url,
            venues.alpaca_key,
            venues.alpaca_secret,
            on_update=self._on_trade_update,
            reconnect_max_s=stream_config.stream_reconnect_max_s,
        )
        self.stream.on_update = self._on_trade_update
        self.stream.on_gap = self._on_gap
        self.ledger = Ledger(self.oms, self.book, self.journal)
        self.leg_parent: dict[str, str] = {}  # outcomes: an mleg leg id -> its parent
        # The venue port's request builder, with the crypto assets loaded at start.
        self.instruments = InstrumentTable(DEFAULT_INSTRUMENTS)
        self.build = partial(build_any, instruments=self.instruments)
        # The strategy context: the one engine core, with this node as its venue port.
        self.core = EngineCore(
            strategies,
            clock=LoopClock(),
            port=self,
            ids=self.ids,
            ledger=self.ledger,
            risk=self.risk,
            counters=self.counters,
            account=Account(),
            max_errors=strategy_max_errors,
            error_window_s=strategy_error_window_s,
            trade_reference=(risk_config or RiskConfig()).reference_price == "quote_or_last_trade",
        )
        self.health = self.core.health
        self.mids = self.core.mids
        # The native order path for simple stock orders (issue 26), when built.
        attach_native(
            self.core, partial(order_template, self.build, self.broker.order_bytes), self.send_raw
        )
        # Option chains from Massive's snapshot, and feeds for symbols subscribed late.
        self.chains = attach_options(
            self.core,
            MassiveRestClient(venues.polygon_key, base_url=venues.rest_url or DEFAULT_BASE_URL),
            lambda coro: self._spawn(coro),
            self.spawn_subscribe,
            refresh_s=chain_refresh_s,
        )
        self.option_underlyings = list(option_underlyings)
        self.leader: TradingNode | None = None  # another account's node whose feed we share
        self.followers: list[TradingNode] = []
        self._settling: set[str] = set()  # submissions the client is still settling
        self.reconciler = Reconciler(
            self.broker,
            self.ledger,
            settling=lambda: set(self._settling),
            corrections=self.counters.reconcile_corrections,
            abandon_after_s=jcfg.abandon_intents_older_than_s,
            timeout_s=reconcile_timeout_s,
        )
        self.reconcile_interval_s = reconcile_interval_s
        self.reconcile_timeout_s = reconcile_timeout_s
        self.finish_timeout_s = finish_timeout_s
        self.session_clock = SessionClock()
        self._reconcile_ticks = 0
        self.feed = feed or PolygonClient(
            venues.polygon_key,
            url=venues.feed_url,
            config=feed_config,
            socket_options=socket_options,
        )
        # Each Massive market its symbols need is a connection of its own (live/feeds.py);
        # the crypto one is opened at start when a strategy trades a pair.
        self.feeds: dict[str, PolygonClient] = {"stocks": self.feed}
        self._feed_args = (venues.polygon_key, venues.feed_url, feed_config, socket_options)
        for client in self.feeds.values():
            self._listen(client)
        self._frame_ns = 0
        self._sync_scheduled = False
        self._timers: list[Every] = []
        self._tasks: set[asyncio.Future[Any]] = set()
        self._started = 0.0
        self._last_events = 0
        self._last_rate_t = 0.0
        self.stopped = asyncio.Event()
        self._last_kill: CancelOutcome | None = None

    def __repr__(self) -> str:
        return f"TradingNode({self.venues!r}, strategies={[s.name for s in self.strategies]})"

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Replay, reconcile, then connect the stream and the feed and start the strategies."""
        self._started = time.monotonic()
        # One line: which order path runs (the pure-Python one says why not the native).
        (log.info if self.core.native is not None else log.warning)("%s", compiled.notice())
        self._start_journal_syncer()
        await retrying(
            self.broker.connect,
            deadline=time.monotonic() + self.reconcile_timeout_s,
            what="connect to the broker",
        )
        await self._recover()
        symbols = sorted({s for strategy in self.strategies for s in strategy.symbols})
        self._subscriptions(symbols)  # a subscription Massive would refuse stops us here
        deadline = time.monotonic() + self.reconcile_timeout_s
        await load_instruments(self.broker, symbols, self.instruments, deadline=deadline)
        await self.stream.start(timeout_s=self.stream_start_timeout_s)
        if self.option_underlyings and self.venues.rest_url:
            await asyncio.wait_for(
                self.chains.preload(self.option_underlyings), max(deadline - time.monotonic(), 1)
            )
        self.core.start()  # on_start raising is a StrategyError, as in every host
        if self.leader is not None:
            self.leader.spawn_subscribe(self.core.market.symbols)
        else:
            for market, channels in self._subscriptions(self.core.market.symbols).items():
                await self._feed_of(market).subscribe(channels)
        self._rate_from_now()
        self._tick()  # every gauge exists from the first scrape, not only after a second
        self.every(1.0, self._tick)
        self.every(self.reconcile_interval_s, self._reconcile_tick)
        # Drain the latency rings here, often and in small pieces: a drain costs ~0.6 µs per
        # sample (HdrHistogram), and the panel's 0.5 s drain of a 20k frames/s feed stalled
        # the loop for 1-4 ms (tick-to-trade p99 1,980 µs; see docs/performance.md).
        self.recorder.auto_drain = False
        self.every(0.01, self.recorder.drain)

    async def stop(self, *, cancel_open_orders: bool = True) -> CancelOutcome | None:
        """Stop trading; with ``cancel_open_orders``, cancel until the broker has none open.

        Returns what the cancel achieved (``None`` when not asked): a caller exits non-zero
        and names the orders when any stayed live.
        """
        for timer in self._timers:
            timer.cancel()
        # on_stop for the strategies that started; from here an order from a strategy (a
        # late timer, a task) is denied: the journal closes below.
        self.core.stop("the node is stopping")
        # Orders still waiting for a rate-limit token are never sent: a stop at 200/min
        # with a queue of 200 once took 53 s sending them, then cancelling them.
        self.broker.halt_orders("the node is stopping")
        for client in self.feeds.values():
            await client.close()
        pending = {t for t in self._tasks if not t.done()}
        if pending:
            await asyncio.wait(pending, timeout=3)
        for task in pending:
            task.cancel()  # still waiting (e.g. for a rate-limit token): never written
        outcome: CancelOutcome | None = None
        kill_incomplete = self._last_kill is not None and not self._last_kill.ok
        if cancel_open_orders and (self.oms.open_count or kill_incomplete):
            outcome = await self._cancel_everything(flatten=False)
        else:
            # Rounds until every open order is confirmed, so what the engine reports at exit
            # is the broker's truth; past the bound, the report says how many are not.
            await verify(self.reconciler, "stop", self.reconcile_timeout_s)
        for order in list(self.oms.orders.values()):
            if order.status is o.OrderStatus.INTENT:
                self.ledger.apply(order.client_order_id, o.Abandoned())
        await self.reconciler.wait_idle()
        await self.stream.close()
        await self.broker.close()
        await self.chains.client.close()
        if self._journal_syncer is not None:
            self._journal_syncer.stop()
            self._journal_syncer = None
        self.journal.close()
        self.stopped.set()
        return outcome

    async def _cancel_everything(
        self, *, flatten: bool, kill_deadline: float | None = None
    ) -> CancelOutcome:
        """Cancel (and flatten) within finish_timeout_s, or what is left of a kill's
        deadline (monotonic), then apply the broker's word through reconciliation."""
        return await cancel_and_verify(
            self.broker,
            self.reconciler,
            self.counters,
            flatten=flatten,
            deadline=kill_deadline or time.monotonic() + self.finish_timeout_s,
            killing=kill_deadline is not None,
            verify_timeout_s=self.reconcile_timeout_s,
            believed_open=lambda: [c for c, x in self.oms.orders.items() if x.is_open],
        )

    async def _recover(self) -> None:
        """Rebuild from the journal, then take the broker's word for everything open."""
        deadline = time.monotonic() + self.reconcile_timeout_s
        result = replay_journal(self.journal.path, self.ids)
        self.oms = self.ledger.oms = result.manager
        self.ledger.fee_ids |= result.fee_ids  # a fee activity booked before books once
        if result.crypto_day:  # the crypto day the journal began, and its starting P&L
            self.risk.crypto_day.day = result.crypto_day
            self.risk.crypto_day_start_pnl = result.crypto_day_start_pnl
        if result.kill is not None and self.halt_if_journal_killed:
            # A failover takeover of a halted group stays halted (issue 25).
            self.risk.hold_kill(f"kill switch in the journal: {result.kill.reason}")
            log.error("the journal holds a kill (%s): orders stay halted", result.kill.reason)
        await settle_with_broker(
            result,
            broker=self.broker,
            ledger=self.ledger,
            reconciler=self.reconciler,
            corrections=self.counters.reconcile_corrections,
            account=self.core.account,
            deadline=deadline,
        )
        self.journal.sync()

    # -- market data (hot path) ----------------------------------------------------------

    def _on_feed_events(self, events: list[MarketEvent], recv_ns: int) -> None:
        self._frame_ns = recv_ns
        counters = self.counters
        counters.frames += 1
        counters.events += len(events)
        # One frame in 16: the stage is a distribution, and recording every frame of a busy
        # feed made the drains the loop's biggest stall.
        if not counters.frames & 15:
            self.recorder.stages["frame_to_callback"].record(_perf() - recv_ns)
        self.core.on_market(events)
        if self.risk.state is TradingState.REDUCING and self.risk.state_reason.startswith("stale"):
            self.risk.on_feed_recovered()
        if self.followers:  # other accounts' nodes behind this one's feed (app/accounts.py)
            for follower in self.followers:
                follower._on_feed_events(events, recv_ns)

    def follow(self, leader: TradingNode) -> None:
        """Trade behind ``leader``'s feed (another account of one ``run``): Massive allows
        one connection per cluster, so this node opens none; ``leader`` hands it every batch
        of events and subscribes its symbols."""
        self.leader = leader
        leader.followers.append(self)

    # -- the venue port (engine.ports.VenuePort) -------------------------------------------

    def send(self, client_order_id: str, request: Any, started_ns: int) -> None:
        """Write one order; the core journaled its intent just before."""
        self._written(client_order_id, self.broker.submit_order_nowait(request), started_ns)

    def send_raw(self, client_order_id: str, raw: bytes, started_ns: int) -> None:
        """Write one order's request bytes (the native order path's; it journaled the
        intent just before)."""
        self._written(
            client_order_id, self.broker.submit_raw_nowait(client_order_id, raw), started_ns
        )

    def _written(self, client_order_id: str, task: asyncio.Future[Any], started_ns: int) -> None:
        t1 = _perf()
        stages = self.recorder.stages
        stages["callback_to_order_written"].record(t1 - started_ns)
        if self._frame_ns:
            stages["frame_to_order_written"].record(t1 - self._frame_ns)
        # -- after the write --
        self._settling.add(client_order_id)
        self._tasks.add(task)
        task.add_done_callback(partial(self._on_submit_done, client_order_id, started_ns))
        self._schedule_sync()

    def every(self, interval_s: float, callback: Callable[[], None]) -> Every:
        """The node's own periodic work (and its host's: the panel); ends at stop."""
        timer = Every(asyncio.get_running_loop(), interval_s, callback)
        self._timers.append(timer)
        return timer

    # -- order outcomes (after the write) ----------------------------------------------------

    def _reconcile_tick(self) -> None:
        # While orders are open, every tick; otherwise every sixth (positions can still move
        # through orders placed elsewhere).
        self._reconcile_ticks += 1
        if self.oms.open_count or self._reconcile_ticks % 6 == 0:
            self.reconciler.request("timer")

    # -- housekeeping (off the hot path) -----------------------------------------------------

    def _start_journal_syncer(self) -> None:
        if self.journal.fsync == "batch":
            cpus = set(self.housekeeping_cpus) if self.housekeeping_cpus else None
            self._journal_syncer = start_journal_syncer(self.journal, self.journal_config, cpus)

    def _schedule_sync(self) -> None:
        if self._journal_syncer is not None:
            return
        if not self._sync_scheduled:
            self._sync_scheduled = True
            delay = self.journal_config.fsync_interval_ms / 1000
            asyncio.get_running_loop().call_later(delay, self._sync)

    def _sync(self) -> None:
        self._sync_scheduled = False
        self.journal.sync()

    @property
    def own_symbols(self) -> frozenset[str]:
        """The symbols of the node's own strategies (a gateway never unsubscribes them)."""
        return frozenset(s for strategy in self.strategies for s in strategy.symbols)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _rate_from_now(self) -> None:
        """The feed rate counts from here. The events counter is not always 0 at a start: a
        failover group's terms share the process's recorder (the first tick of a second term
        once read 552 earlier events over 0 s: "feed=552,000,000,000/s")."""
        self._last_events = self.counters.events
        self._last_rate_t = asyncio.get_running_loop().time()

    def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        events = self.counters.events
        self.recorder.market_data_rate = (events - self._last_events) / max(
            now - self._last_rate_t, 1e-9
        )
        self._last_events, self._last_rate_t = events, now
        self.counters.feed_reconnects = sum(f.reconnects for f in self.feeds.values())
        self.counters.stream_reconnects = self.stream.reconnects
        for sym, mid in self.mids.items():
            self.book.mark(sym, mid)
        self.core.forget(bound_memory(self.oms, self.book, self.journal, self.journal_config))
        self.core.supervisor.report()
        if self.session_clock.new_session(time.time()):
            # max_daily_loss is per US equity session, not for the life of the process.
            self.ledger.record(SessionStarted(self.session_clock.day))
            log.info("new trading session %s: daily P&L reset", self.session_clock.day)
        if self.risk.roll_crypto_day(time.time()):
            # Crypto trades 24/7: its daily loss is per crypto day (risk.crypto.day_starts_utc_hour).
            day, start = self.risk.crypto_day.day, self.risk.crypto_day_start_pnl
            self.ledger.record(SessionStarted(day, "crypto", start))
            log.info("new crypto day %s: crypto daily P&L reset", self.risk.crypto_day.day)
        self.recorder.gauges.update(book_gauges(self.book, self.oms))

    async def kill(self, reason: str, *, flatten: bool = False) -> dict[str, Any]:
        """Kill switch: halt, cancel every open order, optionally flatten every position
        (:func:`~tradewire.live.finish.kill_switch`); the result names anything still live."""
        deadline = time.monotonic() + self.finish_timeout_s
        outcome, result = await kill_switch(
            reason,
            flatten=flatten,
            risk=self.risk,
            broker=self.broker,
            ledger=self.ledger,
            journal=self.journal,
            tasks=self._tasks,
            finish_timeout_s=self.finish_timeout_s,
            cancel=lambda: self._cancel_everything(flatten=flatten, kill_deadline=deadline),
        )
        self._last_kill = outcome
        return result

    def install_signal_handlers(self, stop: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        loop.add_signal_handler(signal.SIGUSR1, lambda: self._spawn(self.kill("SIGUSR1")))

    def snapshot(self) -> NodeSnapshot:
        """What the panel, the summary and ``--report-json`` show (off the hot path)."""
        uptime_s = time.monotonic() - self._started if self._started else 0.0
        return node_snapshot(self, uptime_s=uptime_s)
