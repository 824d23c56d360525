"""The facts a backtest run hands its report: the types ``text`` and ``html`` both read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """Account value at one simulated instant (sampled every ``sample_s`` and at the end)."""

    ts_ns: int
    equity: float
    realized: float
    unrealized: float
    positions: dict[str, float]


@dataclass(frozen=True, slots=True)
class FillRow:
    """One execution as the simulated broker reported it."""

    ts_ns: int
    client_order_id: str
    symbol: str
    side: str
    qty: float
    price: float


@dataclass(frozen=True, slots=True)
class SymbolPnl:
    """Final P&L of one symbol; ``mark`` is None when no price was ever seen to mark it at."""

    symbol: str
    position: float
    avg_price: float
    mark: float | None
    realized: float
    unrealized: float


@dataclass(frozen=True, slots=True)
class RunFacts:
    """Everything the backtest measured; the report is derived from this and nothing else."""

    events: int
    batches: int
    wall_s: float
    orders: int
    denied: int
    canceled: int
    rejected: int
    fills: list[FillRow]
    equity: list[EquityPoint]
    per_symbol: list[SymbolPnl]
    starting_cash: float
    seed: int
    data: str
    strategy: str
    params: dict[str, Any]
    latency_model: str
    fill_model: str
    start_ns: int
    end_ns: int
