"""The strategies' side of the engine core: their errors, their stop, their retirement.

A strategy's exception must not take the feed or another strategy down, must not flood the
log (one traceback, then a count), and must not let a strategy go on trading forever on a
state its failing callback left half-updated: past its error budget
(:class:`~tradewire.engine.strategy_health.StrategyHealth`) it is stopped, its timers end,
its open orders are cancelled, and the panel, metrics, summary and exit code say so. The
same budget holds in every host (before the core, a worker logged a traceback on every
exception and a backtest never stopped a strategy). A stopped strategy (and every strategy
once its host stops) is bound to :class:`RetiredContext`, so an order from a late timer is
denied instead of written to a closed journal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tradewire.engine.strategy import OrderHandle, PositionView, Strategy
from tradewire.engine.strategy_health import StrategyHealth, Verdict
from tradewire.errors import StrategyError

if TYPE_CHECKING:
    from tradewire.engine.core import EngineCore
    from tradewire.engine.timers import Timer

log = logging.getLogger("tradewire.engine")


class RetiredContext:
    """What a stopped strategy is bound to: it may look, but every order is denied."""

    def __init__(self, core: EngineCore, why: str) -> None:
        self._core = core
        self._why = why

    def __getattr__(self, name: str) -> Any:
        # Reading (position, cash, mid, open_orders, pnl …) is the core's, unchanged.
        return getattr(self._core, name)

    def submit(
        self, strategy: Strategy, symbol: str, side: Any, qty: float | None, **kw: Any
    ) -> Any:
        handle = OrderHandle("", symbol, side, qty or 0.0, kw.get("order_type", "market"), None)
        handle.notional = kw.get("notional")
        handle.status = "denied"
        handle.denied = f"strategy {strategy.name} is stopped: {self._why}"
        return handle

    def cancel(self, strategy: Strategy, client_order_id: str) -> None:
        return None  # the core cancels a stopped strategy's orders itself

    def cancel_all(self, strategy: Strategy) -> int:
        return 0

    def replace(self, strategy: Strategy, client_order_id: str, **kw: Any) -> None:
        return None

    def close_position(self, strategy: Strategy, symbol: str) -> OrderHandle | None:
        return None

    def close_all(self, strategy: Strategy) -> list[OrderHandle]:
        return []

    def call_later(self, strategy: Strategy, delay_s: float, callback: Callable[[], None]) -> Any:
        return self._core.timers.dead(strategy.name)

    def call_every(
        self, strategy: Strategy, interval_s: float, callback: Callable[[], None]
    ) -> Any:
        return self._core.timers.dead(strategy.name)

    def position(self, symbol: str) -> PositionView:
        return self._core.position(symbol)

    @property
    def cash(self) -> Decimal:
        return self._core.cash


class Supervisor:
    """Runs the strategies' callbacks under their error budgets (one per core)."""

    def __init__(self, core: EngineCore, *, max_errors: int, window_s: float) -> None:
        self._core = core
        self.max_errors = max_errors
        self.window_s = window_s
        self.health: dict[str, StrategyHealth] = {}
        self.started: set[str] = set()  # strategies whose on_start ran (they get on_stop)
        self._by_name: dict[str, Strategy] = {}

    def watch(self, strategy: Strategy, max_errors: int | None = None) -> None:
        self.health.setdefault(
            strategy.name,
            StrategyHealth(self.max_errors if max_errors is None else max_errors, self.window_s),
        )
        self._core.counters.strategy_errors.setdefault(strategy.name, 0)

    def start(self, strategies: list[Strategy]) -> None:
        """``on_start`` each, in order: one that raises is a :class:`StrategyError` in every
        host; those started before it get their ``on_stop`` at retirement, it does not."""
        for strategy in strategies:
            try:
                strategy.on_start()
            except Exception as exc:
                log.debug("strategy %s: on_start raised", strategy.name, exc_info=True)
                raise StrategyError(
                    f"strategy {strategy.name}: on_start raised {type(exc).__name__}: {exc}"
                ) from exc
            self.started.add(strategy.name)
            self._by_name[strategy.name] = strategy

    def run_timer(self, timer: Timer) -> None:
        """A timer's callback, under its strategy's budget (never once it is stopped)."""
        strategy = self._by_name.get(timer.owner)
        if strategy is None or self.health[strategy.name].stopped:
            return
        try:
            timer.callback()
        except Exception as exc:
            self.raised(strategy, getattr(timer.callback, "__name__", "a timer"), exc)

    def guard(self, fn: Callable[[Any], None], arg: Any, strategy: Strategy) -> None:
        # A strategy bug must not take the feed (and every other strategy) down with it.
        try:
            fn(arg)
        except Exception as exc:
            self.raised(strategy, getattr(fn, "__name__", "a callback"), exc)

    def raised(self, strategy: Strategy, where: str, exc: Exception) -> None:
        name = strategy.name
        health = self.health[name]
        errors = self._core.counters.strategy_errors
        errors[name] = errors.get(name, 0) + 1
        verdict = health.on_error(
            self._core.clock.monotonic(), f"{type(exc).__name__}: {exc}"[:300]
        )
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
            self.stop(strategy, health.stopped)

    def report(self, *, final: bool = False) -> None:
        """Once a second (and at stop): one line per strategy that raised since the last."""
        now = self._core.clock.monotonic()
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

    def stop(self, strategy: Strategy, why: str) -> None:
        """Stop one strategy: no more callbacks or timers, its open orders cancelled."""
        core = self._core
        health = self.health[strategy.name]
        health.stopped = health.stopped or why
        core.counters.strategies_stopped[strategy.name] = health.stopped
        core.market.unroute(strategy)
        core.timers.cancel_owner(strategy.name)
        if strategy.name in self.started:
            self.started.discard(strategy.name)
            try:
                strategy.on_stop()
            except Exception as exc:  # it is being stopped for raising; one more is only noted
                log.error(
                    "strategy %s: on_stop raised %s: %s", strategy.name, type(exc).__name__, exc
                )
        for handle in core.open_orders(strategy):
            core.cancel(strategy, handle.client_order_id)
        strategy.bind(RetiredContext(core, health.stopped))

    def retire(self, strategies: list[Strategy], why: str) -> None:
        """At host stop: ``on_stop`` for every strategy that started and is not stopped
        already, then every timer ends and any later order is denied."""
        core = self._core
        for strategy in strategies:
            if strategy.name in self.started:
                self.started.discard(strategy.name)
                try:
                    strategy.on_stop()
                except Exception as exc:
                    log.error(
                        "strategy %s: on_stop raised %s: %s", strategy.name, type(exc).__name__, exc
                    )
        core.timers.cancel_all()
        for strategy in strategies:
            strategy.bind(RetiredContext(core, why))
