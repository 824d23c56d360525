"""``tuning:`` in config/trading_apis.yaml: what the process may do to go faster.

Every setting is reported at start as applied, denied (with the OS's reason) or off;
nothing fails the run, so an unprivileged run works with whatever it was allowed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tradewire.configbase import Int, NonNegativeFloat, NonNegativeInt, PositiveInt, StrictModel


class TuningConfig(StrictModel):
    """Process placement, scheduling, memory, GC and socket options.

    The feed client runs inline on the engine's loop (one loop from socket read to order
    write), so the feed's CPU is the engine's: ``engine_cpus``.
    """

    enabled: bool = True
    # CPU affinity per role; empty = automatic (engine and simulator on different CPUs).
    engine_cpus: list[NonNegativeInt] = Field(default_factory=list)
    simulator_cpus: list[NonNegativeInt] = Field(default_factory=list)
    housekeeping_cpus: list[NonNegativeInt] = Field(default_factory=list)
    nice: Int | None = Field(default=None, ge=-20, le=19)
    sched_fifo: bool = False
    sched_fifo_priority: Int = Field(default=10, ge=1, le=99)
    mlockall: bool = False
    # GC: "freeze" moves everything allocated during start-up out of the collector's reach
    # (gc.freeze) so later collections scan only new objects; "disabled" stops automatic
    # collection altogether (reference cycles then leak until the process ends).
    gc: Literal["default", "freeze", "disabled"] = "freeze"
    gc_thresholds: tuple[PositiveInt, NonNegativeInt, NonNegativeInt] | None = None
    # Python's GIL switch interval: a helper thread wanting the GIL waits this long for a
    # busy loop to let go (bench: 5 ms default -> ms stalls).
    # 200 µs: with the metrics thread on a housekeeping CPU, a scrape's loop stall p99 fell
    # from ~5.3 ms to ~0.8 ms (benchmarks/experiments/exporter_stall.py, docs/performance.md
    # issue 14).
    gil_switch_interval_us: PositiveInt | None = 200
    # Keep the loop polling instead of sleeping in epoll (costs the engine's whole core).
    busy_poll: bool = False
    # Run a dry order through the order path (risk, request, journal frame, HTTP bytes;
    # nothing sent) every this many ms, so sparse orders do not find it cold (live/warm.py).
    # 0 = off.
    warm_path_ms: NonNegativeFloat = 0.0
    # Sockets (feed and order connections).
    tcp_nodelay: bool = True
    so_rcvbuf: PositiveInt | None = None
    so_sndbuf: PositiveInt | None = None
    so_busy_poll_us: PositiveInt | None = None
