"""What a host gives the engine core: a clock that can call back, and a port to the venue.

The core (:mod:`tradewire.engine.core`) is the strategy context of every host; the hosts
differ only here, as NautilusTrader's kernel differs only by its clock and clients between
backtest and live:

- the inline node's clock is the event loop's, its port writes to Alpaca's REST socket;
- the backtest's clock jumps from event to event, its port puts the order on a latency heap;
- a worker's clock is its own loop's, its port publishes an intent to the gateway.

Sans-I/O: nothing here touches a socket or a loop; the protocols are what the core calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from datetime import date
    from decimal import Decimal

    from tradewire.engine.chain import ChainEntry
    from tradewire.engine.multileg import Leg
    from tradewire.engine.strategy import Strategy
    from tradewire.engine.views import (
        OrderClass,
        OrderHandle,
        OrderType,
        PositionView,
        Side,
        TimeInForce,
    )
    from tradewire.venues.polygon.messages import Quote, Trade


class Cancellable(Protocol):
    """A scheduled call that can still be called off (``asyncio.TimerHandle`` is one)."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """Time for strategies, timers, throttles and error windows.

    ``time_ns`` is what a strategy reads (the wall clock live, the data's time in a
    backtest); ``monotonic`` and ``monotonic_ns`` measure intervals (risk throttles, error
    windows, timer periods); ``call_later`` schedules on the host's loop.
    """

    def time_ns(self) -> int: ...

    def monotonic(self) -> float: ...

    def monotonic_ns(self) -> int: ...

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Cancellable: ...


class VenuePort(Protocol):
    """How the core's orders leave, and how their requests are built.

    ``build`` validates and builds the venue's request (the venue's own rules; raises a
    ``ValueError`` naming the field, which the core turns into a denial); ``held`` is the
    position in the symbol now (crypto cannot be sold short), ``None`` when this core keeps
    no book. Alpaca's is :func:`tradewire.venues.alpaca.order_builder.build_any`. ``send`` writes it:
    the order is journaled as an intent before it is called, and ``started_ns`` (a
    ``perf_counter_ns``) is when the strategy's call began, for the latency stages.
    ``cancel`` and ``replace`` ask the venue; their outcomes come back as events (the
    replacement is a new order, under ``new_client_order_id``).
    """

    def build(
        self,
        *,
        symbol: str,
        side: str,
        order_type: str,
        time_in_force: str,
        qty: float | None,
        limit_price: float | None,
        stop_price: float | None,
        extended_hours: bool,
        client_order_id: str,
        order_class: str | None,
        take_profit: dict[str, float] | None,
        stop_loss: dict[str, float] | None,
        held: float | None,
        notional: float | None = None,
        legs: Sequence[Leg] | None = None,
    ) -> object: ...

    def send(self, client_order_id: str, request: object, started_ns: int) -> None: ...

    def cancel(self, client_order_id: str, broker_id: str) -> None: ...

    def replace(
        self,
        client_order_id: str,
        broker_id: str,
        *,
        new_client_order_id: str,
        qty: float | None,
        limit_price: float | None,
        stop_price: float | None,
    ) -> None: ...


class Counters(Protocol):
    """What the core counts (the metrics recorder's counters are one)."""

    orders_sent: int
    orders_denied: int
    orders_canceled: int
    orders_expired: int
    orders_rejected: int
    fills: int
    denials_by_reason: dict[str, int]
    strategy_errors: dict[str, int]
    strategies_stopped: dict[str, str]


@dataclass(slots=True)
class CoreCounters:
    """The core's counters when the host keeps no metrics recorder (backtest, worker)."""

    orders_sent: int = 0
    orders_denied: int = 0
    orders_canceled: int = 0
    orders_expired: int = 0
    orders_rejected: int = 0
    fills: int = 0
    denials_by_reason: dict[str, int] = field(default_factory=dict)
    strategy_errors: dict[str, int] = field(default_factory=dict)
    strategies_stopped: dict[str, str] = field(default_factory=dict)


class MarketVenue(Protocol):
    """A simulated venue that must see each market event before the strategies do
    (the backtest with zero feed latency; :meth:`EngineCore.on_market`)."""

    @property
    def live(self) -> Mapping[str, object]:
        """Symbols with working orders: the venue hears of their trades."""

    def on_quote(self, quote: Quote) -> None: ...

    def on_trade(self, trade: Trade) -> None: ...


class StrategyContext(Protocol):
    """What a host provides to a strategy: the engine core (:class:`tradewire.engine.core.
    EngineCore`) in every host, or :class:`tradewire.testing.FakeContext` in a unit test."""

    def submit(
        self,
        strategy: Strategy,
        symbol: str,
        side: Side,
        qty: float | None,
        *,
        order_type: OrderType,
        limit_price: float | None,
        stop_price: float | None,
        time_in_force: TimeInForce,
        extended_hours: bool,
        client_order_id: str | None,
        order_class: OrderClass | None = None,
        take_profit: dict[str, float] | None = None,
        stop_loss: dict[str, float] | None = None,
        notional: float | None = None,
    ) -> OrderHandle: ...

    def submit_multileg(
        self,
        strategy: Strategy,
        legs: Sequence[Leg],
        qty: float,
        *,
        order_type: str,
        limit_price: float | None,
        time_in_force: str,
        client_order_id: str | None,
    ) -> OrderHandle: ...

    def cancel(self, strategy: Strategy, client_order_id: str) -> None: ...

    def cancel_all(self, strategy: Strategy) -> int: ...

    def replace(
        self,
        strategy: Strategy,
        client_order_id: str,
        *,
        qty: float | None = None,
        limit_price: float | None = None,
        stop_price: float | None = None,
    ) -> OrderHandle | None: ...

    def close_position(self, strategy: Strategy, symbol: str) -> OrderHandle | None: ...

    def close_all(self, strategy: Strategy) -> list[OrderHandle]: ...

    def position(self, symbol: str) -> PositionView: ...

    def open_orders(self, strategy: Strategy) -> list[OrderHandle]: ...

    def call_later(
        self, strategy: Strategy, delay_s: float, callback: Callable[[], None]
    ) -> Timer: ...

    def call_every(
        self, strategy: Strategy, interval_s: float, callback: Callable[[], None]
    ) -> Timer: ...

    def now_ns(self) -> int: ...

    def last_quote(self, symbol: str) -> Quote | None: ...

    def mid(self, symbol: str) -> float | None: ...

    def subscribe(self, strategy: Strategy, symbols: Sequence[str]) -> None: ...

    def option_chain(
        self,
        underlying: str,
        *,
        expiry: date | str | None = None,
        right: Literal["call", "put"] | None = None,
        strikes_near: int | None = None,
    ) -> list[ChainEntry]: ...

    def pnl(self, strategy: Strategy) -> tuple[float, float]: ...

    @property
    def cash(self) -> Decimal: ...

    @property
    def equity(self) -> Decimal: ...

    @property
    def buying_power(self) -> Decimal: ...


class Timer(Protocol):
    """What ``call_later`` and ``call_every`` return: ``cancel()`` stops it."""

    active: bool

    def cancel(self) -> None: ...
