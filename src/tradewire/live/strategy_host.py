"""The node's side of the strategies: their callbacks, their timers, their errors, their end.

A strategy's exception must not take the feed or another strategy down, must not flood the
log (one traceback, then a count), and must not let a strategy go on trading forever on a
state its failing callback left half-updated: past its error budget
(:class:`~tradewire.engine.strategy_health.StrategyHealth`) it is stopped, its open orders
are cancelled, and the panel, metrics, summary and exit code say so. A stopped strategy
(and every strategy once the node stops) is bound to :class:`RetiredContext`, so an order
from a late timer is denied instead of written to a closed journal.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tradewire.engine.strategy import OrderHandle, PositionView, Strategy
from tradewire.engine.strategy_health import StrategyHealth, Verdict
from tradewire.live.timers import Every

if TYPE_CHECKING:
    from tradewire.metrics.recorder import Counters

log = logging.getLogger("tradewire.live.node")


class RetiredContext:
    """What a stopped strategy is bound to: it may look, but every order is denied."""

    def __init__(self, live: Any, why: str) -> None:
        self._live = live
        self._why = why

    def submit(self, strategy: Strategy, symbol: str, side: Any, qty: float, **kw: Any) -> Any:
        handle = OrderHandle("", symbol, side, qty, kw.get("order_type", "market"), None)
        handle.status = "denied"
        handle.denied = f"strategy {strategy.name} is stopped: {self._why}"
        return handle

    def cancel(self, strategy: Strategy, client_order_id: str) -> None:
        return None  # the node cancels a stopped strategy's orders itself

    def position(self, symbol: str) -> PositionView:
        view: PositionView = self._live.position(symbol)
        return view

    def open_orders(self, strategy: Strategy) -> list[OrderHandle]:
        handles: list[OrderHandle] = self._live.open_orders(strategy)
        return handles

    def call_later(self, strategy: Strategy, delay_s: float, callback: Callable[[], None]) -> None:
        return None

    def call_every(
        self, strategy: Strategy, interval_s: float, callback: Callable[[], None]
    ) -> None:
        return None

    def now_ns(self) -> int:
        return time.time_ns()

    @property
    def cash(self) -> Decimal:
        cash: Decimal = self._live.cash
        return cash


class StrategyHost:
    """The node's strategy handling (a mixin: TradingNode sets the attributes below)."""

    strategies: list[Strategy]
    counters: Counters
    health: dict[str, StrategyHealth]
    _quote_routes: dict[str, list[Strategy]]
    _trade_routes: dict[str, list[Strategy]]
    _bar_routes: dict[str, list[Strategy]]
    _timers: list[Every]
    _strategy_timers: dict[str, list[Every | asyncio.TimerHandle]]

    if TYPE_CHECKING:  # provided by TradingNode and OrderOutcomes

        def open_orders(self, strategy: Strategy) -> list[OrderHandle]: ...

        def cancel(self, strategy: Strategy, client_order_id: str) -> None: ...

    def _guard(self, fn: Callable[[Any], None], arg: Any, strategy: Strategy) -> None:
        # A strategy bug must not take the feed (and every other strategy) down with it.
        try:
            fn(arg)
        except Exception as exc:
            self._strategy_raised(strategy, getattr(fn, "__name__", "a callback"), exc)

    def _guard_timer(self, strategy: Strategy, callback: Callable[[], None]) -> None:
        if self.health[strategy.name].stopped:
            return
        try:
            callback()
        except Exception as exc:
            self._strategy_raised(strategy, getattr(callback, "__name__", "a timer"), exc)

    def _strategy_raised(self, strategy: Strategy, where: str, exc: Exception) -> None:
        name = strategy.name
        health = self.health[name]
        errors = self.counters.strategy_errors
        errors[name] = errors.get(name, 0) + 1
        verdict = health.on_error(time.monotonic(), f"{type(exc).__name__}: {exc}"[:300])
        if verdict is Verdict.TRACEBACK:
            log.error(
                "strategy %s raised in %s; further errors are counted, not printed "
                "(stopped after %d in %gs)",
                name,
                where,
                health.max_errors,
                health.window_s,
                exc_info=exc,
            )
        elif verdict is Verdict.STOP:
            log.error("strategy %s %s; cancelling its orders", name, health.stopped)
            self.stop_strategy(strategy, health.stopped)

    def report_strategy_errors(self, *, final: bool = False) -> None:
        """Once a second (and at stop): one line per strategy that raised since the last."""
        now = time.monotonic()
        for name, health in self.health.items():
            count = health.flush() if final else health.report(now)
            if count:
                log.error(
                    "strategy %s raised %d more times (%d in all; last: %s)",
                    name,
                    count,
                    health.errors,
                    health.last_error,
                )

    def stop_strategy(self, strategy: Strategy, why: str) -> None:
        """Stop one strategy: no more callbacks or timers, its open orders cancelled."""
        health = self.health[strategy.name]
        health.stopped = health.stopped or why
        self.counters.strategies_stopped[strategy.name] = health.stopped
        for routes in (self._quote_routes, self._trade_routes, self._bar_routes):
            for subscribers in routes.values():
                if strategy in subscribers:
                    subscribers.remove(strategy)
        for timer in self._strategy_timers.pop(strategy.name, []):
            timer.cancel()
        try:
            strategy.on_stop()
        except Exception as exc:  # it is being stopped for raising; one more is only noted
            log.error("strategy %s: on_stop raised %s: %s", strategy.name, type(exc).__name__, exc)
        for handle in self.open_orders(strategy):
            self.cancel(strategy, handle.client_order_id)
        strategy.bind(RetiredContext(self, health.stopped))

    def retire_strategies(self, why: str) -> None:
        """At node stop: every strategy's timers end and any later order is denied."""
        for timers in self._strategy_timers.values():
            for timer in timers:
                timer.cancel()
        self._strategy_timers.clear()
        for strategy in self.strategies:
            strategy.bind(RetiredContext(self, why))

    # -- StrategyContext: timers -----------------------------------------------------------

    def call_later(
        self, strategy: Strategy, delay_s: float, callback: Callable[[], None]
    ) -> asyncio.TimerHandle:
        loop = asyncio.get_running_loop()
        handle = loop.call_later(delay_s, self._guard_timer, strategy, callback)
        timers = self._strategy_timers.setdefault(strategy.name, [])
        if len(timers) >= 256:  # a strategy re-arming a one-shot timer forever: forget fired ones
            now = loop.time()
            timers[:] = [t for t in timers if isinstance(t, Every) or t.when() > now]
        timers.append(handle)
        return handle

    def call_every(
        self, strategy: Strategy, interval_s: float, callback: Callable[[], None]
    ) -> Every:
        timer = Every(
            asyncio.get_running_loop(),
            interval_s,
            lambda: self._guard_timer(strategy, callback),
        )
        self._strategy_timers.setdefault(strategy.name, []).append(timer)
        return timer
