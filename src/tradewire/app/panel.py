"""Live terminal panel and the end-of-run summary.

The node hands over a plain :class:`NodeSnapshot` on a timer, off the hot path; this
module only renders it (with ``rich`` when stdout is a terminal, plain lines otherwise, so
logs from a service manager stay readable).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable
from typing import TextIO

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from tradewire.app.endstate import RUNNING, end_state, open_positions, strategy_state
from tradewire.app.fit import fit
from tradewire.fmt import money, price, qty
from tradewire.live.snapshot import NodeSnapshot


def render(
    s: NodeSnapshot, *, width: int = 100, height: int = 40, log: Iterable[str] = ()
) -> Group:
    """The panel for a ``width`` × ``height`` terminal: figures first, the strategies' last
    ``log`` lines, then as many position rows as fit (the rest counted), so an 80×24 window
    never scrolls or clips a figure."""

    def text(items: list[str], style: str = "", first: str = "") -> Text:
        rest = "  " if first else ""
        return Text("\n".join(fit(items, width, first=first, rest=rest)), style=style)

    pnl = f"P&L {money(s.pnl, signed=True)}"
    pnl_line = text(
        [
            pnl,
            f"realized {money(s.realized_pnl, signed=True)}",
            f"unrealized {money(s.unrealized_pnl, signed=True)}",
        ]
    )
    pnl_line.stylize("bold", 0, len(pnl))
    lines: list[Text | Table] = [
        text(
            [
                f"tradewire {s.mode}",
                *([s.ended, end_state(s)] if s.ended else [s.state]),
                f"up {s.uptime_s:,.0f}s",
                f"feed {s.feed_rate:,.0f} ev/s",
                f"events {s.events:,}",
                f"reconnects {s.reconnects}",
            ]
        ),
        text(
            [
                f"orders sent {s.orders_sent:,}",
                f"acked {s.orders_acked:,}",
                f"rejected {s.orders_rejected:,}",
                f"unknown {s.orders_unknown:,}",
                f"risk-denied {s.risk_denied:,}",
                f"canceled {s.orders_canceled:,}",
                f"expired {s.orders_expired:,}",
                f"fills {s.fills:,}",
                f"open {s.open_orders:,}",
            ]
        ),
        pnl_line,
    ]
    if s.denials:
        lines.append(text(s.denials, first="risk denials: "))
    stopped = s.stopped_strategies
    if s.strategies:
        states = {name: strategy_state(s, name, why) for name, why in s.strategies.items()}
        usual = "stopped" if s.ended else RUNNING
        lines.append(
            text(
                [f"strategies {sum(st == usual for st in states.values())} {usual}"]
                + [f"{name} {st}" for name, st in states.items() if st != usual]
                + ([f"callback errors {s.strategy_errors:,}"] if s.strategy_errors else []),
                style="bold red" if stopped else "",
            )
        )
    if s.note:
        lines.append(text([s.note]))
    for name, w in s.workers.items():
        lines.append(text(_worker_items(name, w)))
    lines.extend(Text(line, style="dim", no_wrap=True, overflow="ellipsis") for line in log)
    used = sum(_rows(line, width) for line in lines)
    lat = Table(
        box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1), title_justify="left"
    )
    for col in ("latency µs", "p50", "p99", "samples"):
        lat.add_column(col, justify="right" if col != "latency µs" else "left")
    for stage, (p50, p99, n) in s.latency_us.items():
        lat.add_row(stage, f"{p50:,.1f}", f"{p99:,.1f}", f"{n:,}")
    used += len(s.latency_us) + 2 if s.latency_us else 0
    pos = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1))
    for col in ("symbol", "qty", "avg", "mark", "realized", "unrealized"):
        pos.add_column(col, justify="right" if col != "symbol" else "left")
    # Header and rule take 2 rows; a last row counts what did not fit.
    room = max(height - used - 2, 1)
    shown = s.positions if len(s.positions) <= room else s.positions[: room - 1]
    for p in shown:
        pos.add_row(
            p.symbol,
            qty(p.qty),
            price(p.avg_price),
            "-" if p.mark is None else price(p.mark),
            money(p.realized, signed=True),
            money(p.unrealized, signed=True),
        )
    if len(shown) < len(s.positions):
        pos.add_row(f"… {len(s.positions) - len(shown)} more positions", "", "", "", "", "")
    parts: list[Text | Table] = [*lines]
    if s.positions:
        parts.append(pos)
    if s.latency_us:
        parts.append(lat)
    return Group(*parts)


def _worker_items(name: str, w: dict[str, object]) -> list[str]:
    p50 = w.get("latency_p50_us")
    return [
        f"worker {name} {'up' if w.get('alive') else 'GONE'}",
        f"events {w.get('events', 0):,}",
        f"gaps {w.get('gaps', 0)}",
        f"dropped {w.get('dropped', 0)}",
        f"intents {w.get('intents', 0)}",
    ] + ([f"gw→worker p50 {p50:,.0f} µs"] if isinstance(p50, float) else [])


def _rows(line: Text | Table, width: int) -> int:
    """Terminal rows a line takes once wrapped at ``width``."""
    console = Console(width=width, file=io.StringIO())
    return len(console.render_lines(line, console.options, pad=False))


class Panel:
    """Renders snapshots live on a TTY; prints a compact line per refresh otherwise."""

    def __init__(self, *, stream: TextIO | None = None, live: bool | None = None) -> None:
        self._stream = stream or sys.stdout
        self._console = Console(file=self._stream)
        self._live_enabled = self._console.is_terminal if live is None else live
        self._live: Live | None = None
        self.log: Iterable[str] = ()  # the strategies' last lines (app/strategy_log.py)

    @property
    def is_live(self) -> bool:
        return self._live_enabled

    def start(self) -> None:
        if self._live_enabled:
            self._live = Live(console=self._console, auto_refresh=False, transient=False)
            self._live.start()

    def update(self, snapshot: NodeSnapshot) -> None:
        if self._live is not None:
            size = self._console.size
            self._live.update(
                render(snapshot, width=size.width, height=size.height, log=self.log), refresh=True
            )
        else:
            self._stream.write(one_line(snapshot) + "\n")
            self._stream.flush()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def one_line(s: NodeSnapshot) -> str:
    lat = " ".join(f"{k}={v[0]:.0f}/{v[1]:.0f}µs" for k, v in s.latency_us.items())
    stopped = s.stopped_strategies
    return (
        f"[{s.mode} {s.ended or s.state}] up={s.uptime_s:.0f}s feed={s.feed_rate:,.0f}/s "
        f"sent={s.orders_sent} acked={s.orders_acked} rej={s.orders_rejected} "
        f"unk={s.orders_unknown} denied={s.risk_denied} canceled={s.orders_canceled} "
        f"expired={s.orders_expired} fills={s.fills} open={s.open_orders} "
        f"pnl={money(s.pnl, signed=True).replace(',', '')}"
        + (f" stopped={','.join(stopped)}" if stopped else "")
        + f" {lat}"
    )


def summary(s: NodeSnapshot, *, width: int = 80, prog: str = "tradewire run") -> str:
    """The text printed when ``run`` stops: the same snapshot as the panel's last frame, in
    lines of at most ``width`` characters (a figure is never cut in two)."""

    def add(*items: str, sep: str = ", ") -> None:
        lines.extend(fit(items, width, sep=sep, first="  ", rest="    "))

    lines = [f"{prog} summary"]
    if s.ended:
        add(f"mode {s.mode}", f"ran {s.uptime_s:,.1f}s", s.ended)
        add(f"end state: {end_state(s)}")
    else:
        add(f"mode {s.mode}", f"final state {s.state}", f"ran {s.uptime_s:,.1f}s")
    add(
        f"market data: {s.events:,} events in {s.frames:,} frames",
        f"{s.reconnects} reconnects",
    )
    add(
        f"orders: {s.orders_sent:,} sent",
        f"{s.orders_acked:,} acked",
        f"{s.orders_rejected:,} rejected",
        f"{s.orders_unknown:,} unknown",
        f"{s.risk_denied:,} denied by risk",
        f"{s.orders_canceled:,} canceled",
        f"{s.orders_expired:,} expired",
        f"{s.fills:,} fills",
        f"{s.open_orders:,} open",
    )
    if s.denials:
        lines.extend(fit(s.denials, width, sep=", ", first="  risk denials: ", rest="    "))
    add(
        f"P&L: {money(s.pnl, signed=True)}",
        f"realized {money(s.realized_pnl, signed=True)}",
        f"unrealized {money(s.unrealized_pnl, signed=True)}",
    )
    if s.unverified_orders:
        add(
            f"NOT VERIFIED: {s.unverified_orders:,} open orders could not be confirmed at the "
            "broker; these orders and positions may differ from the broker's"
        )
    for p in s.positions:
        add(
            f"position {p.symbol}: {qty(p.qty)} @ {price(p.avg_price)}",
            *([] if p.mark is None else [f"mark {price(p.mark)}"]),
            f"realized {money(p.realized, signed=True)}",
            f"unrealized {money(p.unrealized, signed=True)}",
        )
    if open_positions(s):
        add(open_positions(s))
    for name, why in s.strategies.items():
        add(f"strategy {name}: {strategy_state(s, name, why)}")
    if s.strategy_errors:
        add(f"strategy callback errors: {s.strategy_errors:,}")
    for name, w in s.workers.items():
        add(*_worker_items(name, w), sep=" · ")
    for stage, (p50, p99, n) in s.latency_us.items():
        add(f"latency {stage}: p50 {p50:,.1f} µs", f"p99 {p99:,.1f} µs", f"{n:,} samples")
    return "\n".join(lines)
