"""The strategy API: what user code subclasses and calls.

A strategy is plain synchronous Python called inline on the node's event loop: a quote
arrives, ``on_quote`` runs, and ``self.buy(...)`` has written the order request to the
broker's socket by the time it returns. There is nothing to await on the hot path, so
strategies run unchanged live, on paper, against the simulator and on replayed data.

Example::

    class Dip(Strategy):
        def on_quote(self, quote: Quote) -> None:
            if quote.ask_price < self.params.get("below", 100.0) and not self.position(quote.symbol):
                self.buy(quote.symbol, 10, limit_price=quote.ask_price)
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, Protocol

from tradewire.engine.symbols import normalize_symbol, normalize_symbols

if TYPE_CHECKING:
    from tradewire.venues.polygon.messages import Aggregate, Quote, Trade

Side = Literal["buy", "sell"]
OrderType = Literal["market", "limit", "stop", "stop_limit", "trailing_stop"]
TimeInForce = Literal["day", "gtc", "opg", "cls", "ioc", "fok"]


@dataclass(slots=True)
class OrderHandle:
    """A live view of one order, returned as soon as its request bytes are written.

    ``status`` follows the order state machine (``intent`` → ``sent`` → ``new`` → ``filled`` …);
    ``denied`` is set instead when pre-trade risk refused the order, which then never left.
    """

    client_order_id: str
    symbol: str
    side: Side
    qty: float
    order_type: OrderType
    limit_price: float | None = None
    status: str = "intent"
    filled_qty: float = 0.0
    filled_avg_price: float | None = None
    broker_order_id: str | None = None
    denied: str | None = None
    reject_reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self.denied is None and self.status not in _TERMINAL

    @property
    def remaining_qty(self) -> float:
        return max(self.qty - self.filled_qty, 0.0)


_TERMINAL = frozenset({"filled", "canceled", "expired", "replaced", "rejected", "abandoned"})


@dataclass(slots=True, frozen=True)
class OrderUpdate:
    """One change to one order, as the strategy sees it (from REST replies or trade_updates)."""

    event: str
    order: OrderHandle
    fill_qty: float = 0.0
    fill_price: float | None = None
    position_qty: float | None = None


@dataclass(slots=True)
class PositionView:
    symbol: str
    qty: float = 0.0
    avg_entry_price: float = 0.0
    realized_pnl: float = 0.0
    unrealized_pnl: float = 0.0


class StrategyContext(Protocol):
    """What the node provides to a strategy. Tests and the replayer provide their own."""

    def submit(
        self,
        strategy: Strategy,
        symbol: str,
        side: Side,
        qty: float,
        *,
        order_type: OrderType,
        limit_price: float | None,
        stop_price: float | None,
        time_in_force: TimeInForce,
        extended_hours: bool,
        client_order_id: str | None,
    ) -> OrderHandle: ...

    def cancel(self, strategy: Strategy, client_order_id: str) -> None: ...

    def position(self, symbol: str) -> PositionView: ...

    def open_orders(self, strategy: Strategy) -> list[OrderHandle]: ...

    def call_later(
        self, strategy: Strategy, delay_s: float, callback: Callable[[], None]
    ) -> Any: ...

    def call_every(
        self, strategy: Strategy, interval_s: float, callback: Callable[[], None]
    ) -> Any: ...

    def now_ns(self) -> int: ...

    @property
    def cash(self) -> Decimal: ...


@dataclass(slots=True)
class StrategyConfig:
    """How a strategy is loaded: ``path`` is ``package.module:ClassName``."""

    path: str
    symbols: list[str]
    params: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None


class Strategy:
    """Base class for user strategies. Override the ``on_*`` hooks you need.

    Attributes:
        name: Unique name, used in client_order_id tags, logs and metrics.
        symbols: The tickers this strategy receives quotes, trades and bars for.
        params: Free-form parameters from the config file.
        log: A logger named ``tradewire.strategy.<name>``; do not log on the hot path in
            production, it costs more than the rest of the path together.
    """

    def __init__(
        self,
        *,
        symbols: list[str],
        params: Mapping[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        self.name = name or type(self).__name__
        self.symbols = list(symbols)
        self.params: Mapping[str, Any] = dict(params or {})
        self.log = logging.getLogger(f"tradewire.strategy.{self.name}")
        self._ctx: StrategyContext | None = None

    # -- lifecycle hooks -------------------------------------------------------------------

    def on_start(self) -> None:
        """Called once after reconciliation, before the first market data event."""

    def on_quote(self, quote: Quote) -> None:
        """Called inline for every NBBO quote of a subscribed symbol."""

    def on_trade(self, trade: Trade) -> None:
        """Called inline for every trade print of a subscribed symbol."""

    def on_bar(self, bar: Aggregate) -> None:
        """Called for second (``A``) and minute (``AM``) aggregates of subscribed symbols."""

    def on_order_update(self, update: OrderUpdate) -> None:
        """Called after the order state machine applied a change to one of this strategy's orders."""

    def on_stop(self) -> None:
        """Called once on shutdown, before open orders are cancelled (if configured)."""

    # -- actions ---------------------------------------------------------------------------

    def buy(
        self,
        symbol: str,
        qty: float,
        *,
        limit_price: float | None = None,
        time_in_force: TimeInForce = "day",
        client_order_id: str | None = None,
    ) -> OrderHandle:
        """Buy ``qty``: a limit order if ``limit_price`` is given, else a market order."""
        return self._simple("buy", symbol, qty, limit_price, time_in_force, client_order_id)

    def sell(
        self,
        symbol: str,
        qty: float,
        *,
        limit_price: float | None = None,
        time_in_force: TimeInForce = "day",
        client_order_id: str | None = None,
    ) -> OrderHandle:
        """Sell ``qty``: a limit order if ``limit_price`` is given, else a market order."""
        return self._simple("sell", symbol, qty, limit_price, time_in_force, client_order_id)

    def _simple(
        self,
        side: Side,
        symbol: str,
        qty: float,
        limit_price: float | None,
        time_in_force: TimeInForce,
        client_order_id: str | None,
    ) -> OrderHandle:
        return self.submit(
            symbol,
            side,
            qty,
            order_type="limit" if limit_price is not None else "market",
            limit_price=limit_price,
            time_in_force=time_in_force,
            client_order_id=client_order_id,
        )

    def submit(
        self,
        symbol: str,
        side: Side,
        qty: float,
        *,
        order_type: OrderType = "market",
        limit_price: float | None = None,
        stop_price: float | None = None,
        time_in_force: TimeInForce = "day",
        extended_hours: bool = False,
        client_order_id: str | None = None,
    ) -> OrderHandle:
        """Check risk, journal the intent and write the order; returns once the bytes are out.

        A risk denial returns a handle with ``denied`` set; it never raises on the hot path.
        ``aapl`` means ``AAPL`` (:mod:`tradewire.engine.symbols`); what is no ticker at all
        goes on as given, for risk or the venue to refuse.
        """
        if not symbol.isupper():  # the usual upper-case ticker pays for this test alone
            with contextlib.suppress(ValueError, AttributeError):
                symbol = normalize_symbol(symbol)
        return self._context.submit(
            self,
            symbol,
            side,
            qty,
            order_type=order_type,
            limit_price=limit_price,
            stop_price=stop_price,
            time_in_force=time_in_force,
            extended_hours=extended_hours,
            client_order_id=client_order_id,
        )

    def cancel(self, order: OrderHandle | str) -> None:
        """Request cancellation; the outcome arrives as an order update."""
        cid = order if isinstance(order, str) else order.client_order_id
        self._context.cancel(self, cid)

    def position(self, symbol: str) -> PositionView:
        return self._context.position(symbol)

    def open_orders(self) -> list[OrderHandle]:
        return self._context.open_orders(self)

    @property
    def cash(self) -> Decimal:
        return self._context.cash

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Any:
        """Run ``callback`` once after ``delay_s`` seconds, on the node's loop."""
        return self._context.call_later(self, delay_s, callback)

    def call_every(self, interval_s: float, callback: Callable[[], None]) -> Any:
        """Run ``callback`` every ``interval_s`` seconds until the node stops."""
        return self._context.call_every(self, interval_s, callback)

    def now_ns(self) -> int:
        return self._context.now_ns()

    # -- wiring ----------------------------------------------------------------------------

    def bind(self, ctx: StrategyContext) -> None:
        """Attach the strategy to a node (or a test context). Called by the node."""
        self._ctx = ctx

    @property
    def _context(self) -> StrategyContext:
        if self._ctx is None:
            raise RuntimeError(f"strategy {self.name!r} is not attached to a node yet")
        return self._ctx


def load_strategy(
    config: StrategyConfig, *, base_dir: Path | None = None, search_cwd: bool = True
) -> Strategy:
    """Instantiate a strategy from ``package.module:ClassName`` or ``path/to/file.py:ClassName``.

    File paths let users keep strategies beside their config without packaging them; a
    relative file path is resolved against ``base_dir`` (the config's project), then, unless
    ``search_cwd`` is false (``tradewire run``: the working folder is not the project), the
    current directory.
    """
    import importlib
    import importlib.util

    from tradewire.errors import ConfigError

    target, sep, class_name = config.path.rpartition(":")
    if not sep or not target or not class_name:
        raise ConfigError(
            f"strategy path {config.path!r} must look like 'package.module:ClassName' "
            "or 'path/to/file.py:ClassName'"
        )
    module: ModuleType
    if target.endswith(".py"):
        candidates = [Path(target)] if Path(target).is_absolute() else []
        if base_dir is not None and not Path(target).is_absolute():
            candidates.append(base_dir / target)
        if search_cwd or base_dir is None:
            candidates.append(Path.cwd() / target)
        file = next((c for c in candidates if c.is_file()), None)
        if file is None:
            raise ConfigError(f"strategy path {config.path!r}: file {target} not found")
        spec = importlib.util.spec_from_file_location(f"tradewire_user_{file.stem}", file)
        if spec is None or spec.loader is None:
            raise ConfigError(f"strategy path {config.path!r}: cannot load {file}")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise ConfigError(
                f"strategy path {config.path!r}: {file} failed to import: {exc}"
            ) from exc
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise ConfigError(
                f"strategy path {config.path!r}: cannot import {target}: {exc}"
            ) from exc
    cls = getattr(module, class_name, None)
    if cls is None:
        found = sorted(
            n
            for n, v in vars(module).items()
            if isinstance(v, type) and issubclass(v, Strategy) and v is not Strategy
        )
        raise ConfigError(
            f"strategy path {config.path!r}: no class {class_name!r} in {target}"
            + (f" (it has: {', '.join(found)})" if found else "")
        )
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise ConfigError(f"strategy path {config.path!r}: {class_name} is not a Strategy subclass")
    try:
        symbols = normalize_symbols(config.symbols)  # aapl means AAPL, as everywhere
    except ValueError as exc:
        raise ConfigError(f"strategy {config.path!r}: {exc}") from None
    return cls(symbols=symbols, params=config.params, name=config.name)
