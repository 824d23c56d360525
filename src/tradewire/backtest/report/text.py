"""What a backtest run leaves behind: figures a trader reads and a digest two runs compare by.

Everything here is a pure function of the run's facts except ``write_outputs``, which only
serialises what ``build_report`` already decided. The digest covers the journal and the fills
and nothing measured on the wall clock, so the same data, strategy, params and seed give the
same digest on any machine; ``events_per_s`` and ``wall_s`` are reported but never hashed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import logging
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tradewire.backtest.report import html as report_html
from tradewire.backtest.report.figures import human_span
from tradewire.backtest.report.model import EquityPoint, FillRow, RunFacts

log = logging.getLogger(__name__)

# US equities' regular session: 252 trading days of 6.5 hours.
TRADING_DAYS_PER_YEAR = 252
TRADING_SECONDS_PER_YEAR = TRADING_DAYS_PER_YEAR * 6.5 * 3600
# The report's Sharpe ratio is annualised from daily returns, and only from this many: with n
# of them its standard error is about sqrt(252 / n) (±3.5 at 20), so fewer make a figure of
# noise. Annualising seconds instead (a 40 s recording once gave -622.96) measures the quote
# noise of a few seconds, scaled by sqrt(5.9 million): no trader can use that number.
MIN_SHARPE_DAYS = 20
# Trading days are split at 05:00 UTC (midnight EST, 01:00 EDT): no US session from
# pre-market (04:00 ET) to after-hours (20:00 ET) crosses it, and no time zone database is
# needed (the slim image has none).
_DAY_SPLIT_NS = 5 * 3600 * 10**9
_DAY_NS = 86_400 * 10**9
# JSON figures are rounded so a float's last-bit noise never shows up as a diff between runs.
DECIMALS = 6
# A return spread below this is float noise on a constant-return curve, not volatility.
MIN_RETURN_STD = 1e-12
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def max_drawdown(equity: Sequence[EquityPoint]) -> tuple[float, float]:
    """Deepest fall from a running peak: ``($, fraction of that peak)``.

    The two are maximised separately: a $50 fall from 100 (50%) and a $100 fall from 1000
    (10%) give ``(100, 0.5)``, since a trader asks both "how much could I lose" and "how bad
    was it relative to what I had". A peak at or below zero has no meaningful fraction.
    """
    worst_abs = 0.0
    worst_frac = 0.0
    peak = -math.inf
    for p in equity:
        e = p.equity
        if e > peak:
            peak = e
            continue
        fall = peak - e
        if fall > worst_abs:
            worst_abs = fall
        if peak > 0 and fall / peak > worst_frac:
            worst_frac = fall / peak
    return worst_abs, worst_frac


def periods_per_year(sample_s: float) -> float:
    """Equity samples in a trading year when the backtest samples every ``sample_s`` seconds."""
    if not sample_s > 0:
        raise ValueError(f"sample_s must be > 0, got {sample_s!r}")
    return TRADING_SECONDS_PER_YEAR / sample_s


def sharpe(equity: Sequence[EquityPoint], *, periods_per_year: float) -> float | None:
    """Annualised Sharpe ratio of the sampled equity curve, risk-free rate 0.

    Convention: simple returns between consecutive equity points, mean over their sample
    standard deviation (n - 1), times ``sqrt(periods_per_year)``. The report passes daily
    closes and 252 (:func:`daily_sharpe`); a curve sampled every ``sample_s`` seconds would
    pass ``periods_per_year(sample_s)``.

    None when there are fewer than two returns, when the returns do not vary (a ratio over a
    zero spread is not a number a trader can use), or when equity reaches zero or below
    (a return from a non-positive base is undefined).
    """
    if not periods_per_year > 0:
        raise ValueError(f"periods_per_year must be > 0, got {periods_per_year!r}")
    values = [p.equity for p in equity]
    if len(values) < 3:
        return None
    if any(v <= 0 for v in values[:-1]):
        return None
    rets = [b / a - 1.0 for a, b in itertools.pairwise(values)]
    mean = math.fsum(rets) / len(rets)
    var = math.fsum((r - mean) ** 2 for r in rets) / (len(rets) - 1)
    std = math.sqrt(var)
    if std <= MIN_RETURN_STD:
        return None
    return mean / std * math.sqrt(periods_per_year)


def daily_closes(equity: Sequence[EquityPoint]) -> list[EquityPoint]:
    """The first sample (the start), then each trading day's last: one return per day."""
    closes = [equity[0]] if equity else []
    for a, b in itertools.pairwise(equity):
        new_day = (b.ts_ns - _DAY_SPLIT_NS) // _DAY_NS != (a.ts_ns - _DAY_SPLIT_NS) // _DAY_NS
        if new_day and a is not closes[-1]:
            closes.append(a)
    if equity and equity[-1] is not closes[-1]:
        closes.append(equity[-1])
    return closes


def daily_sharpe(
    equity: Sequence[EquityPoint], *, span_s: float
) -> tuple[float | None, str | None, int]:
    """The report's Sharpe ratio from daily returns, or None and why the data cannot give
    one; and the number of trading days the curve covers."""
    closes = daily_closes(equity)
    days = max(0, len(closes) - 1)
    if days < MIN_SHARPE_DAYS:
        return (
            None,
            (
                f"not enough data: needs at least {MIN_SHARPE_DAYS} daily returns (trading days); "
                f"the data spans {human_span(span_s)} ({days} trading day{'' if days == 1 else 's'})"
            ),
            days,
        )
    if any(p.equity <= 0 for p in closes[:-1]):
        why = "not computable: equity reached zero or below, a return from there is undefined"
        return None, why, days
    value = sharpe(closes, periods_per_year=TRADING_DAYS_PER_YEAR)
    if value is None:
        return None, "not computable: the daily returns do not vary (a ratio over no spread)", days
    return value, None, days


def _fill_line(f: FillRow) -> bytes:
    """One fill, canonically: fixed field order, floats by ``repr`` so 10 and 10.0 agree."""
    fields = [
        int(f.ts_ns),
        f.client_order_id,
        f.symbol,
        f.side,
        repr(float(f.qty)),
        repr(float(f.price)),
    ]
    return json.dumps(fields, ensure_ascii=True, separators=(",", ":")).encode() + b"\n"


def digest(journal_bytes: bytes, fills: Sequence[FillRow]) -> str:
    """sha256 over the journal then the fills, so two runs compare by one string.

    The journal alone could agree while fills differ (a fill model change that the engine
    never journals), and fills alone miss order decisions; hashing both catches either. The
    journal is length-prefixed so no journal tail can be mistaken for a fill.
    """
    h = hashlib.sha256()
    h.update(b"journal %d\n" % len(journal_bytes))
    h.update(journal_bytes)
    h.update(b"fills %d\n" % len(fills))
    for f in fills:
        h.update(_fill_line(f))
    return h.hexdigest()


def _r(x: float) -> float:
    """Round for stable JSON; ``-0.0`` would print as a spurious sign difference."""
    v = round(float(x), DECIMALS)
    return 0.0 if v == 0 else v


def _r_opt(x: float | None) -> float | None:
    """Round, mapping None and non-finite values to JSON null (JSON has no NaN)."""
    if x is None or not math.isfinite(x):
        return None
    return _r(x)


def iso_utc(ts_ns: int) -> str:
    """ISO-8601 UTC with a ``Z``; integer arithmetic so nanosecond stamps never round oddly."""
    dt = _EPOCH + timedelta(microseconds=ts_ns // 1000)
    return dt.isoformat().replace("+00:00", "Z")


def _jsonable(value: Any) -> Any:
    """Params as plain JSON with sorted keys; anything JSON lacks is shown by its repr."""
    return json.loads(json.dumps(value, sort_keys=True, default=repr))


def build_report(facts: RunFacts, *, journal_bytes: bytes, sample_s: float) -> dict[str, Any]:
    """The run's figures as a JSON-ready dict; deterministic apart from the two timing keys."""
    per_symbol = {
        s.symbol: {
            "position": _r(s.position),
            "avg_price": _r(s.avg_price),
            "mark": _r_opt(s.mark),
            "realized": _r(s.realized),
            "unrealized": _r(s.unrealized),
        }
        for s in sorted(facts.per_symbol, key=lambda s: s.symbol)
    }
    realized = math.fsum(s.realized for s in facts.per_symbol)
    unrealized = math.fsum(s.unrealized for s in facts.per_symbol)
    dd_abs, dd_frac = max_drawdown(facts.equity)
    periods_per_year(sample_s)  # refuses a sample_s <= 0
    span_s = max(0, facts.end_ns - facts.start_ns) / 1e9
    sharpe_value, sharpe_note, trading_days = daily_sharpe(facts.equity, span_s=span_s)
    final_equity = (
        facts.equity[-1].equity if facts.equity else facts.starting_cash + realized + unrealized
    )
    return_pct = (
        (final_equity / facts.starting_cash - 1.0) * 100 if facts.starting_cash > 0 else None
    )
    return {
        "events": facts.events,
        "events_per_s": round(facts.events / facts.wall_s, 1) if facts.wall_s > 0 else None,
        "wall_s": round(facts.wall_s, 3),
        "batches": facts.batches,
        "orders": facts.orders,
        "fills": len(facts.fills),
        "denied": facts.denied,
        "canceled": facts.canceled,
        "rejected": facts.rejected,
        "pnl": {
            "realized": _r(realized),
            "unrealized": _r(unrealized),
            "total": _r(realized + unrealized),
            "per_symbol": per_symbol,
        },
        "max_drawdown": _r(dd_abs),
        "max_drawdown_pct": _r(dd_frac * 100),
        # A figure the data cannot support is null, with a note saying why (figures.py
        # shows the note in its place).
        "sharpe": _r_opt(sharpe_value),
        "sharpe_note": sharpe_note,
        "trading_days": trading_days,
        "span_s": round(span_s, 3),
        "sample_s": sample_s,
        "final_equity": _r(final_equity),
        "starting_cash": _r(facts.starting_cash),
        "return_pct": _r_opt(return_pct),
        "return_pct_note": None
        if return_pct is not None
        else "not computable: starting cash is 0 or less",
        "digest": digest(journal_bytes, facts.fills),
        "start": iso_utc(facts.start_ns),
        "end": iso_utc(facts.end_ns),
        "run": {
            "data": facts.data,
            "strategy": facts.strategy,
            "params": _jsonable(facts.params),
            "seed": facts.seed,
            "latency_model": facts.latency_model,
            "fill_model": facts.fill_model,
        },
    }


def _matplotlib_available() -> bool:
    """Found without importing it: matplotlib comes with the ``[bench]`` extra only."""
    try:
        return importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):
        return False


def _write_png(facts: RunFacts, path: Path) -> bool:
    """Equity and drawdown as a PNG for places that cannot show HTML (chat, a PR comment).

    Uses ``Figure`` directly, not pyplot, so no global backend is switched and nothing
    is left open in a long-lived process.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        log.warning("equity.png skipped: matplotlib does not import (%s)", exc)
        return False
    eq = report_html.equity_series(facts.equity)
    dd = report_html.drawdown_series(facts.equity)
    fig = Figure(figsize=(10, 6), layout="constrained")
    ax_eq, ax_dd = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    t0 = facts.equity[0].ts_ns if facts.equity else facts.start_ns
    for ax, pts, label in ((ax_eq, eq, "equity ($)"), (ax_dd, dd, "drawdown (%)")):
        xs = [(x - t0) / 3.6e12 for x, _ in pts]
        ys = [y for _, y in pts]
        ax.plot(xs, ys, linewidth=1.0)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    ax_dd.set_xlabel(f"hours since {iso_utc(t0)}")
    ax_eq.set_title(f"{facts.strategy} on {facts.data} (seed {facts.seed})")
    fig.savefig(path, dpi=100, metadata={"Software": None})
    return True


def write_outputs(report: dict[str, Any], facts: RunFacts, out_dir: Path) -> list[Path]:
    """Write ``report.json``, ``report.html`` and, with matplotlib, ``equity.png``.

    Returns the files written, in that order, so the CLI can name exactly what exists; a
    base install without matplotlib gets the first two and a log line, never a traceback.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps(report, sort_keys=True, indent=2, allow_nan=False) + "\n")
    html_path = out_dir / "report.html"
    html_path.write_text(report_html.render_html(report, facts), encoding="utf-8")
    written = [json_path, html_path]
    png_path = out_dir / "equity.png"
    if _matplotlib_available() and _write_png(facts, png_path):
        written.append(png_path)
    return written
