"""What the node shows of itself: a plain value built on a timer, off the hot path, for the
panel, the summary and ``--report-json``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tradewire.live.node import TradingNode


@dataclass(slots=True)
class PositionRow:
    symbol: str
    qty: float
    avg_price: float
    mark: float | None
    realized: float
    unrealized: float


@dataclass(slots=True)
class NodeSnapshot:
    """What the panel shows; filled by the node from counters and the recorder."""

    mode: str = "sim"
    state: str = "ACTIVE"
    uptime_s: float = 0.0
    feed_rate: float = 0.0
    events: int = 0
    frames: int = 0
    reconnects: int = 0
    orders_sent: int = 0
    orders_acked: int = 0
    orders_rejected: int = 0
    orders_unknown: int = 0
    risk_denied: int = 0
    # The risk rule that denied -> how many times (DenyReason values; "invalid" for a request
    # the order builder refused).
    denials_by_reason: dict[str, int] = field(default_factory=dict)
    orders_canceled: int = 0
    orders_expired: int = 0
    fills: int = 0
    open_orders: int = 0
    realized_pnl: float = 0.0
    unrealized_pnl: float = 0.0
    positions: list[PositionRow] = field(default_factory=list)
    latency_us: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    note: str = ""
    # Each strategy: "running", or why it was stopped; and their callbacks' errors in all.
    strategies: dict[str, str] = field(default_factory=dict)
    strategy_errors: int = 0
    # Open orders the last reconciliation could not confirm at the broker (after a stop:
    # the engine's numbers are not known to agree with the broker's while this is non-zero).
    unverified_orders: int = 0
    # A gateway's workers: name -> their counters (Gateway.worker_rows)
    workers: dict[str, dict[str, object]] = field(default_factory=dict)
    # Set once the run has stopped: how it ended ("stopped (Ctrl-C)"); "" while it runs.
    ended: str = ""

    @property
    def stopped_strategies(self) -> dict[str, str]:
        return {name: why for name, why in self.strategies.items() if why != "running"}

    @property
    def denials(self) -> list[str]:
        """``["throttle 535", "max_position 12"]``: the rules that denied, most first."""
        ranked = sorted(self.denials_by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
        return [f"{rule} {count:,}" for rule, count in ranked if count]

    @property
    def pnl(self) -> float:
        return self.realized_pnl + self.unrealized_pnl


def node_snapshot(node: TradingNode, *, uptime_s: float) -> NodeSnapshot:
    """The node as it stands: counters, P&L at the latest marks, latency, strategies."""
    node.recorder.drain()
    c = node.counters
    for sym, mid in node.mids.items():  # unrealized P&L at the latest marks
        node.book.mark(sym, mid)
    positions = [
        PositionRow(p.symbol, p.qty, p.avg_price, p.mark, p.realized, p.unrealized)
        for p in sorted(node.book.positions.values(), key=lambda p: p.symbol)
        if p.qty or p.realized
    ]
    latency = {
        name: (pct[50.0], pct[99.0], stage.count)
        for name, stage in node.recorder.stages.items()
        if stage.count
        for pct in (stage.percentiles_us((50.0, 99.0)),)
    }
    return NodeSnapshot(
        mode=node.venues.mode,
        state=node.risk.state.value,
        uptime_s=uptime_s,
        feed_rate=node.recorder.market_data_rate,
        events=c.events,
        frames=c.frames,
        reconnects=sum(f.reconnects for f in node.feeds.values()) + node.stream.reconnects,
        orders_sent=c.orders_sent,
        orders_acked=c.orders_acked,
        orders_rejected=c.orders_rejected,
        orders_unknown=c.orders_unknown,
        risk_denied=c.orders_denied,
        denials_by_reason=dict(c.denials_by_reason),
        orders_canceled=c.orders_canceled,
        orders_expired=c.orders_expired,
        fills=c.fills,
        open_orders=node.oms.open_count,
        realized_pnl=node.book.realized,
        unrealized_pnl=node.book.unrealized,
        positions=positions,
        latency_us=latency,
        note=node.risk.state_reason,
        strategies={name: health.stopped or "running" for name, health in node.health.items()},
        strategy_errors=sum(c.strategy_errors.values()),
        unverified_orders=node.reconciler.unverified,
        workers=node.recorder.worker_rows() if node.recorder.worker_rows else {},
    )
