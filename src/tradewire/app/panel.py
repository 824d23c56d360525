"""Live terminal panel and the end-of-run summary.

The node hands over a plain :class:`NodeSnapshot` on a timer, off the hot path; this
module only renders it (with ``rich`` when stdout is a terminal, plain lines otherwise, so
logs from a service manager stay readable).
"""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from tradewire.live.snapshot import NodeSnapshot


def _tables(s: NodeSnapshot) -> Group:
    head = Table.grid(padding=(0, 2))
    head.add_row(
        f"[bold]tradewire[/] {s.mode}",
        f"state [bold]{s.state}[/]",
        f"up {s.uptime_s:,.0f}s",
        f"feed {s.feed_rate:,.0f} ev/s",
        f"events {s.events:,}",
        f"reconnects {s.reconnects}",
    )
    orders = Table.grid(padding=(0, 2))
    orders.add_row(
        f"orders sent {s.orders_sent:,}",
        f"acked {s.orders_acked:,}",
        f"rejected {s.orders_rejected:,}",
        f"unknown {s.orders_unknown:,}",
        f"risk-denied {s.risk_denied:,}",
        f"fills {s.fills:,}",
        f"open {s.open_orders:,}",
        f"P&L [bold]{s.pnl:+,.2f}[/] (realized {s.realized_pnl:+,.2f})",
    )
    pos = Table(title="positions", expand=False, title_justify="left")
    for col in ("symbol", "qty", "avg", "mark", "realized", "unrealized"):
        pos.add_column(col, justify="right" if col != "symbol" else "left")
    for p in s.positions:
        pos.add_row(
            p.symbol,
            f"{p.qty:,.0f}",
            f"{p.avg_price:,.2f}",
            "-" if p.mark is None else f"{p.mark:,.2f}",
            f"{p.realized:+,.2f}",
            f"{p.unrealized:+,.2f}",
        )
    lat = Table(title="latency (µs)", expand=False, title_justify="left")
    for col in ("stage", "p50", "p99", "samples"):
        lat.add_column(col, justify="right" if col != "stage" else "left")
    for stage, (p50, p99, n) in s.latency_us.items():
        lat.add_row(stage, f"{p50:,.1f}", f"{p99:,.1f}", f"{n:,}")
    parts: list[Table | str] = [head, orders, pos, lat]
    if s.note:
        parts.append(s.note)
    return Group(*parts)


class Panel:
    """Renders snapshots live on a TTY; prints a compact line per refresh otherwise."""

    def __init__(self, *, stream: TextIO | None = None, live: bool | None = None) -> None:
        self._stream = stream or sys.stdout
        self._console = Console(file=self._stream)
        self._live_enabled = self._console.is_terminal if live is None else live
        self._live: Live | None = None

    def start(self) -> None:
        if self._live_enabled:
            self._live = Live(console=self._console, auto_refresh=False, transient=False)
            self._live.start()

    def update(self, snapshot: NodeSnapshot) -> None:
        if self._live is not None:
            self._live.update(_tables(snapshot), refresh=True)
        else:
            self._stream.write(one_line(snapshot) + "\n")
            self._stream.flush()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def one_line(s: NodeSnapshot) -> str:
    lat = " ".join(f"{k}={v[0]:.0f}/{v[1]:.0f}µs" for k, v in s.latency_us.items())
    return (
        f"[{s.mode} {s.state}] up={s.uptime_s:.0f}s feed={s.feed_rate:,.0f}/s "
        f"sent={s.orders_sent} acked={s.orders_acked} rej={s.orders_rejected} "
        f"unk={s.orders_unknown} denied={s.risk_denied} fills={s.fills} open={s.open_orders} "
        f"pnl={s.pnl:+.2f} {lat}"
    )


def summary(s: NodeSnapshot) -> str:
    """The text printed when ``run`` stops."""
    lines = [
        "tradewire run summary",
        f"  mode {s.mode}, final state {s.state}, ran {s.uptime_s:,.1f}s",
        f"  market data: {s.events:,} events in {s.frames:,} frames, {s.reconnects} reconnects",
        f"  orders: {s.orders_sent:,} sent, {s.orders_acked:,} acked, {s.orders_rejected:,} rejected, "
        f"{s.orders_unknown:,} unknown, {s.risk_denied:,} denied by risk; {s.fills:,} fills",
        f"  P&L: {s.pnl:+,.2f} (realized {s.realized_pnl:+,.2f}, "
        f"unrealized {s.unrealized_pnl:+,.2f})",
    ]
    lines.extend(f"  position {p.symbol}: {p.qty:,.0f} @ {p.avg_price:,.2f}" for p in s.positions)
    lines.extend(
        f"  latency {stage}: p50 {p50:,.1f} µs, p99 {p99:,.1f} µs ({n:,} samples)"
        for stage, (p50, p99, n) in s.latency_us.items()
    )
    return "\n".join(lines)
