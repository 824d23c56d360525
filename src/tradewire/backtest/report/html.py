"""The backtest report as one HTML page a trader can open anywhere, offline, and mail around.

No scripts, fonts, stylesheets or images are fetched: the charts are inline SVG drawn here,
so the page renders the same in a browser with no network and cannot leak that it was
opened. Curves are downsampled before drawing because a day sampled every second is 23,400
points and a week of them makes a page browsers choke on; each bucket keeps its minimum and
maximum so a one-sample drawdown is still visible.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tradewire.backtest.report import figures
from tradewire.backtest.report.model import EquityPoint, RunFacts

MAX_POINTS = 2_000
LAST_FILLS = 50
# Beyond this many symbols a chart each stops being readable; the table still lists them all.
MAX_POSITION_CHARTS = 12
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")
W, H = 960, 240
ML, MR, MT, MB = 84, 16, 26, 30
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Point = tuple[int, float]


def downsample(xs: Sequence[int], ys: Sequence[float], max_points: int = MAX_POINTS) -> list[Point]:
    """At most ``max_points`` points: the first, the last, and each bucket's min and max in
    time order, so peaks and troughs survive where an every-nth pick would skip them."""
    n = len(xs)
    if n <= max_points:
        return list(zip(xs, ys, strict=True))
    buckets = max(1, (max_points - 2) // 2)
    out: list[Point] = [(xs[0], ys[0])]
    span = n - 2
    for b in range(buckets):
        lo = 1 + b * span // buckets
        hi = 1 + (b + 1) * span // buckets
        if lo >= hi:
            continue
        seg = ys[lo:hi]
        i_min = lo + seg.index(min(seg))
        i_max = lo + seg.index(max(seg))
        out.extend((xs[i], ys[i]) for i in sorted({i_min, i_max}))
    out.append((xs[-1], ys[-1]))
    return out


def equity_series(equity: Sequence[EquityPoint]) -> list[Point]:
    """Equity in $ over time, downsampled."""
    return downsample([p.ts_ns for p in equity], [p.equity for p in equity])


def drawdown_series(equity: Sequence[EquityPoint]) -> list[Point]:
    """Percent below the running peak (≤ 0) at full resolution, then downsampled, so the
    troughs are those of the real curve and not of an already thinned one."""
    peak = float("-inf")
    dd: list[float] = []
    for p in equity:
        peak = max(peak, p.equity)
        dd.append((p.equity - peak) / peak * 100 if peak > 0 else 0.0)
    return downsample([p.ts_ns for p in equity], dd)


def position_series(equity: Sequence[EquityPoint]) -> dict[str, list[Point]]:
    """Per symbol, only the samples where the position changed (plus the last): exact for a
    step line and usually tiny, downsampled only if a strategy churns every sample."""
    symbols: set[str] = set()
    seen: set[int] = set()
    for p in equity:
        if id(p.positions) not in seen:  # backtests often share one dict between samples
            seen.add(id(p.positions))
            symbols.update(p.positions)
    out: dict[str, list[Point]] = {}
    for sym in sorted(symbols):
        xs: list[int] = []
        ys: list[float] = []
        prev: float | None = None
        for p in equity:
            q = p.positions.get(sym, 0.0)
            if q != prev:
                xs.append(p.ts_ns)
                ys.append(q)
                prev = q
        if xs[-1] != equity[-1].ts_ns:
            xs.append(equity[-1].ts_ns)
            ys.append(ys[-1])
        out[sym] = downsample(xs, ys)
    return out


def _clock(ts_ns: int) -> str:
    """UTC wall time of a simulated instant, to the microsecond."""
    return (_EPOCH + timedelta(microseconds=ts_ns // 1000)).strftime("%Y-%m-%d %H:%M:%S.%f")


def _num(v: Any) -> str:
    """A figure as a person reads it: thousands separated, money to the cent."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) >= 100 else f"{v:,.6g}"
    return str(v)


def _e(v: Any) -> str:
    """Every string that reaches the page goes through here."""
    return html.escape(_num(v) if not isinstance(v, str) else v, quote=True)


def _polyline(pts: list[tuple[float, float]], color: str) -> str:
    coords: list[str] = []
    last = ""
    for x, y in pts:
        c = f"{x:.1f},{y:.1f}"
        if c != last:  # points closer than a tenth of a pixel draw nothing
            coords.append(c)
            last = c
    if len(coords) == 1:
        coords.append(coords[0])
    return (
        f'<polyline fill="none" stroke="{color}" stroke-width="1.2" '
        f'stroke-linejoin="round" points="{" ".join(coords)}"/>'
    )


def svg_chart(
    title: str,
    series: list[tuple[str, list[Point]]],
    *,
    step: bool = False,
    with_zero: bool = False,
    fmt: Callable[[float], str] = lambda v: f"{v:,.2f}",
) -> str:
    """A line chart as inline SVG; ``step`` draws each value until the next sample, which is
    what a position is: held, not interpolated."""
    head = f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{_e(title)}">'
    parts = [head, f'<text x="{ML}" y="16" class="title">{_e(title)}</text>']
    pts_all = [p for _, pts in series for p in pts]
    if not pts_all:
        parts.append(f'<text x="{W / 2}" y="{H / 2}" class="empty">no data</text></svg>')
        return "".join(parts)
    x0, x1 = min(p[0] for p in pts_all), max(p[0] for p in pts_all)
    ys = [p[1] for p in pts_all] + ([0.0] if with_zero else [])
    y0, y1 = min(ys), max(ys)
    if y1 - y0 < 1e-9:
        pad = max(abs(y0) * 0.01, 1.0)
        y0, y1 = y0 - pad, y1 + pad
    else:
        pad = (y1 - y0) * 0.05
        y0, y1 = y0 - pad, y1 + pad
    pw, ph = W - ML - MR, H - MT - MB

    def sx(x: int) -> float:
        return ML + (x - x0) / (x1 - x0) * pw if x1 > x0 else ML + pw / 2

    def sy(y: float) -> float:
        return MT + (y1 - y) / (y1 - y0) * ph

    for i in range(5):
        yv = y0 + (y1 - y0) * i / 4
        yp = sy(yv)
        parts.append(f'<line x1="{ML}" x2="{W - MR}" y1="{yp:.1f}" y2="{yp:.1f}" class="grid"/>')
        parts.append(f'<text x="{ML - 6}" y="{yp + 4:.1f}" class="ytick">{_e(fmt(yv))}</text>')
    for i in range(5):
        xv = x0 + (x1 - x0) * i // 4
        anchor = ("start", "middle", "middle", "middle", "end")[i]
        parts.append(
            f'<text x="{sx(xv):.1f}" y="{H - 10}" text-anchor="{anchor}" class="xtick">'
            f"{_e(_clock(xv)[:19])}</text>"
        )
    if with_zero and y0 < 0 < y1:
        z = sy(0.0)
        parts.append(f'<line x1="{ML}" x2="{W - MR}" y1="{z:.1f}" y2="{z:.1f}" class="zero"/>')
    for n, (label, pts) in enumerate(series):
        color = PALETTE[n % len(PALETTE)]
        drawn: list[tuple[float, float]] = []
        for i, (x, y) in enumerate(pts):
            if step and i:
                drawn.append((sx(x), sy(pts[i - 1][1])))
            drawn.append((sx(x), sy(y)))
        if pts:
            parts.append(_polyline(drawn, color))
        if len(series) > 1:
            lx = W - MR - 110 * (len(series) - n)
            parts.append(f'<text x="{lx}" y="16" class="legend" fill="{color}">{_e(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<table class="kv">{body}</table>'


def _grid(head: Sequence[str], rows: list[list[Any]]) -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="grid"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
table{border-collapse:collapse;margin:4px 0}th,td{padding:3px 10px;border-bottom:1px solid #eee}
th{text-align:left;font-weight:600}td{text-align:right;font-variant-numeric:tabular-nums}
table.kv td{text-align:left;font-family:ui-monospace,monospace}
.chart{width:100%;height:auto;display:block;margin:8px 0}
.chart text{font-size:11px;fill:#555}.chart .title{font-size:13px;fill:#222;font-weight:600}
.chart .ytick{text-anchor:end}.chart .grid{stroke:#eee}.chart .zero{stroke:#999}
.chart .empty{text-anchor:middle}.chart .legend{font-size:12px}
.muted{color:#777}
"""


def render_html(report: dict[str, Any], facts: RunFacts) -> str:
    """The whole page; figures come from ``report`` (what the JSON says), curves from
    ``facts`` (the JSON does not carry them)."""
    pnl = report.get("pnl", {})
    run = report.get("run", {})
    # Labelled, with units (figures.py); a key without a label yet is still shown, raw.
    figure_rows: list[tuple[str, Any]] = list(figures.rows(report))
    figure_rows += [(k, report[k]) for k in figures.unlabelled(report)]
    run_rows = [
        (k, json.dumps(v, sort_keys=True) if isinstance(v, dict | list) else v)
        for k, v in run.items()
    ]
    eq = facts.equity
    charts = [
        svg_chart("equity ($)", [("equity", equity_series(eq))]),
        svg_chart(
            "drawdown from running peak (%)",
            [("drawdown", drawdown_series(eq))],
            with_zero=True,
            fmt=lambda v: f"{v:.2f}%",
        ),
    ]
    positions = position_series(eq) if eq else {}
    ranked = sorted(positions, key=lambda s: -max(abs(y) for _, y in positions[s]))
    shown = sorted(ranked[:MAX_POSITION_CHARTS])
    charts.extend(
        svg_chart(
            f"position {sym} (shares)",
            [(sym, positions[sym])],
            step=True,
            with_zero=True,
            fmt=lambda v: f"{v:,.6g}",
        )
        for sym in shown
    )
    if len(positions) > len(shown):
        charts.append(
            f'<p class="muted">{len(positions) - len(shown)} more symbols not charted '
            "(smallest positions); see the table.</p>"
        )
    per_symbol = [
        [sym, v["position"], v["avg_price"], v["mark"], v["realized"], v["unrealized"]]
        for sym, v in pnl.get("per_symbol", {}).items()
    ]
    last = facts.fills[-LAST_FILLS:]
    fills = [[_clock(f.ts_ns), f.client_order_id, f.symbol, f.side, f.qty, f.price] for f in last]
    title = f"Backtest: {run.get('strategy', '')} on {run.get('data', '')}"
    return "".join(
        [
            '<!doctype html><html lang="en"><head><meta charset="utf-8">',
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
            f"<h1>{_e(title)}</h1>",
            f'<p class="muted">{_e(report.get("start", ""))} → {_e(report.get("end", ""))}'
            f" · seed {_e(run.get('seed'))}</p>",
            "<h2>Figures</h2>",
            _table(figure_rows),
            "<h2>Run</h2>",
            _table(run_rows),
            "<h2>Charts</h2>",
            *charts,
            "<h2>P&amp;L per symbol</h2>",
            _grid(
                ["symbol", "position", "avg price", "mark", "realized", "unrealized"], per_symbol
            ),
            f"<h2>Last {len(last)} of {len(facts.fills)} fills</h2>",
            _grid(["time (UTC)", "client order id", "symbol", "side", "qty", "price"], fills),
            "</body></html>\n",
        ]
    )
