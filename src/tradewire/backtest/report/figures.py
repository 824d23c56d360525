"""The backtest report's figures as a trader reads them: a label, a unit, and for a figure
the data cannot support, the reason in its place.

report.json keeps machine keys (``return_pct``, ``max_drawdown_pct``, ``sharpe``); a field
name with six decimals (``return_pct 23.6414``) is not what a person should have to decode,
so the CLI summary and the HTML page both read their figures from :data:`FIGURES`, one
definition, so the two never label a figure differently. A figure that is ``null`` in the
JSON has a ``<key>_note`` beside it saying why, and that note is shown instead of a number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# Keys of report.json that are not figures: the run's inputs (a table of their own) and the
# per-symbol P&L (a grid of its own); notes are shown in place of their figure.
NOT_FIGURES = frozenset({"run", "pnl"})


def human_span(seconds: float) -> str:
    """A duration as a person says it: 40 s, 12 min, 6.5 h, 23 days."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7_200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.0f} days"


def usd(v: float) -> str:
    return f"-${-v:,.2f}" if v < 0 else f"${v:,.2f}"


def signed_usd(v: float) -> str:
    return f"-${-v:,.2f}" if v < 0 else f"+${v:,.2f}"


def _pct(v: float) -> str:
    """Two decimals; a fall too small for them still reads as one, not as 0.00 %."""
    if 0 < abs(v) < 0.005:
        return f"{'-' if v < 0 else ''}< 0.01 %"
    return f"{v:,.2f} %"


def _count(v: int) -> str:
    return f"{v:,}"


def _text(v: Any) -> str:
    return str(v)


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure: its key in report.json (``pnl.total`` reaches into ``pnl``), the label a
    trader reads, and how its value is written with its unit."""

    key: str
    label: str
    fmt: Callable[[Any], str]


FIGURES = (
    Figure("start", "Start (UTC)", _text),
    Figure("end", "End (UTC)", _text),
    Figure("span_s", "Data span", human_span),
    Figure("trading_days", "Trading days", _count),
    Figure("starting_cash", "Starting cash", usd),
    Figure("final_equity", "Final equity", usd),
    Figure("pnl.total", "P&L", signed_usd),
    Figure("pnl.realized", "Realized P&L", signed_usd),
    Figure("pnl.unrealized", "Unrealized P&L", signed_usd),
    Figure("return_pct", "Return", _pct),
    Figure("max_drawdown_pct", "Max drawdown", _pct),
    Figure("max_drawdown", "Max drawdown ($)", usd),
    Figure("sharpe", "Sharpe ratio (daily returns, annualised)", lambda v: f"{v:.2f}"),
    Figure("orders", "Orders sent", _count),
    Figure("fills", "Fills", _count),
    Figure("denied", "Orders denied by risk", _count),
    Figure("canceled", "Orders canceled", _count),
    Figure("rejected", "Orders rejected by the venue", _count),
    Figure("events", "Market data events", _count),
    Figure("batches", "Frames", _count),
    Figure("events_per_s", "Replay speed", lambda v: f"{v:,.0f} events/s"),
    Figure("wall_s", "Wall time", lambda v: f"{v:,.3f} s"),
    Figure("sample_s", "Equity sampled every", lambda v: f"{v:g} s"),
    Figure("digest", "Digest (sha256 of journal and fills)", _text),
)
_BY_KEY = {f.key: f for f in FIGURES}


def _value(report: Mapping[str, Any], key: str) -> Any:
    head, _, rest = key.partition(".")
    v = report.get(head)
    return v.get(rest) if rest and isinstance(v, Mapping) else v


def _present(report: Mapping[str, Any], key: str) -> bool:
    head, _, rest = key.partition(".")
    return head in report and (not rest or rest in report[head])


def shown(report: Mapping[str, Any], key: str) -> str:
    """The figure under ``key`` with its unit; when null, its note (why there is no number)."""
    v = _value(report, key)
    if v is None:
        note = report.get(f"{key}_note")
        return str(note) if note else "—"
    return _BY_KEY[key].fmt(v)


def rows(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value with unit) for every figure the report has, in reading order."""
    return [(f.label, shown(report, f.key)) for f in FIGURES if _present(report, f.key)]


def unlabelled(report: Mapping[str, Any]) -> list[str]:
    """Keys of the report that have no label here (shown raw as a fallback; kept empty by
    tests/unit/backtest/test_report_figures.py)."""
    return sorted(
        k for k in report if k not in NOT_FIGURES and not k.endswith("_note") and k not in _BY_KEY
    )


def text_lines(report: Mapping[str, Any]) -> list[str]:
    """The money and risk figures for the CLI summary, labelled, aligned, with units."""
    pnl = report.get("pnl", {})
    dd = shown(report, "max_drawdown_pct")
    if report.get("max_drawdown_pct") is not None and report.get("max_drawdown") is not None:
        dd += f" ({usd(report['max_drawdown'])})"
    lines = [
        (
            "P&L",
            f"{shown(report, 'pnl.total')} (realized {signed_usd(pnl.get('realized', 0.0))}, "
            f"unrealized {signed_usd(pnl.get('unrealized', 0.0))})",
        ),
        ("Return", shown(report, "return_pct")),
        ("Max drawdown", dd),
        ("Sharpe ratio", shown(report, "sharpe")),
    ]
    width = max(len(label) for label, _ in lines)
    return [f"  {label:<{width}}  {value}" for label, value in lines]
