"""The report's figures as a trader reads them: a figure the data cannot support says so and
why (a 40-second recording has no Sharpe ratio), and every figure carries a label and its
unit in the text summary and the HTML page, while report.json keeps its machine keys."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import statistics
from pathlib import Path

import pytest

from tradewire.backtest.report import figures
from tradewire.backtest.report import html as report_html
from tradewire.backtest.report.model import EquityPoint, RunFacts, SymbolPnl
from tradewire.backtest.report.text import MIN_SHARPE_DAYS, build_report, write_outputs

T0 = 1_704_205_800_000_000_000  # 2024-01-02T14:30:00Z, the open
SEC = 1_000_000_000
DAY = 86_400 * SEC


def point(ts_ns: int, equity: float) -> EquityPoint:
    return EquityPoint(ts_ns, equity, 0.0, equity - 100_000.0, {"AAPL": 1.0})


def facts(equity: list[EquityPoint]) -> RunFacts:
    return RunFacts(
        events=400,
        batches=40,
        wall_s=0.5,
        orders=2,
        denied=0,
        canceled=0,
        rejected=0,
        fills=[],
        equity=equity,
        per_symbol=[SymbolPnl("AAPL", 1.0, 100.0, 101.0, equity[-1].equity - 100_000.0, 0.0)],
        starting_cash=100_000.0,
        seed=0,
        data="var/recordings/rec-40s",
        strategy="examples/mean_reversion.py:MeanReversion",
        params={},
        latency_model="zero",
        fill_model="touch",
        start_ns=equity[0].ts_ns,
        end_ns=equity[-1].ts_ns,
    )


def forty_seconds() -> RunFacts:
    """A 40-second recording sampled every second: 23.64 % up, 0.34 % deepest fall."""
    values = [100_000.0 + 550.0 * i for i in range(40)]
    values[20] = values[19] * (1 - 0.00342887)  # one dip below the running peak
    values.append(123_641.4)
    return facts([point(T0 + i * SEC, v) for i, v in enumerate(values)])


def days(closes: list[float]) -> RunFacts:
    """One session a day: the open at the starting cash, then each day's close (6.5 h later)."""
    equity = [point(T0, 100_000.0)]
    for d, close in enumerate(closes):
        equity.append(point(T0 + d * DAY + 23_400 * SEC, close))
    return facts(equity)


def test_a_40_second_run_has_no_sharpe_but_says_why():
    r = build_report(forty_seconds(), journal_bytes=b"", sample_s=1)
    assert r["sharpe"] is None
    note = r["sharpe_note"]
    assert note.startswith("not enough data")
    assert f"needs at least {MIN_SHARPE_DAYS} daily returns" in note
    assert "40 s" in note  # what the data spans
    assert r["trading_days"] == 1
    assert r["span_s"] == 40.0
    # the figures that do mean something on 40 s are still there
    assert r["return_pct"] == pytest.approx(23.6414)
    assert r["max_drawdown_pct"] == pytest.approx(0.342887, abs=1e-6)
    assert r["return_pct_note"] is None


def test_sharpe_comes_from_daily_returns_once_there_are_enough():
    closes = [100_000.0 * (1 + 0.001 * ((d * 7) % 5 - 1.5)) ** (d + 1) for d in range(25)]
    r = build_report(days(closes), journal_bytes=b"", sample_s=60)
    rets = [b / a - 1 for a, b in zip([100_000.0, *closes], closes, strict=False)]
    expected = statistics.mean(rets) / statistics.stdev(rets) * math.sqrt(252)
    assert r["trading_days"] == 25
    assert r["sharpe"] == pytest.approx(expected, abs=1e-6)
    assert r["sharpe_note"] is None


def test_too_few_days_and_flat_days_are_not_numbers_either():
    short = build_report(days([100_100.0] * (MIN_SHARPE_DAYS - 1)), journal_bytes=b"", sample_s=60)
    assert short["sharpe"] is None
    assert f"({MIN_SHARPE_DAYS - 1} trading days)" in short["sharpe_note"]
    flat = build_report(days([100_000.0] * 30), journal_bytes=b"", sample_s=60)
    assert flat["sharpe"] is None
    assert "do not vary" in flat["sharpe_note"]


def test_no_starting_cash_means_no_return_and_a_reason():
    f = dataclasses.replace(forty_seconds(), starting_cash=0.0)
    r = build_report(f, journal_bytes=b"", sample_s=1)
    assert r["return_pct"] is None
    assert "starting cash" in r["return_pct_note"]


def test_report_json_keeps_machine_keys_with_null_and_a_note(tmp_path: Path):
    f = forty_seconds()
    write_outputs(build_report(f, journal_bytes=b"", sample_s=1), f, tmp_path)
    data = json.loads((tmp_path / "report.json").read_text())
    for key in ("return_pct", "max_drawdown_pct", "max_drawdown", "sharpe", "final_equity"):
        assert key in data, key
    assert data["sharpe"] is None
    assert isinstance(data["sharpe_note"], str)
    assert '"sharpe": null' in (tmp_path / "report.json").read_text()


def test_the_text_summary_labels_every_figure_with_its_unit():
    lines = figures.text_lines(build_report(forty_seconds(), journal_bytes=b"", sample_s=1))
    text = "\n".join(lines)
    assert re.search(r"Return\s+23\.64 %", text)
    assert re.search(r"Max drawdown\s+0\.34 % \(\$", text)
    assert re.search(r"Sharpe ratio\s+not enough data: needs at least \d+ daily returns", text)
    assert re.search(r"P&L\s+\+\$23,641\.40", text)
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), "a raw field name in the summary"


def test_the_html_figures_have_labels_and_units_not_field_names():
    f = forty_seconds()
    page = report_html.render_html(build_report(f, journal_bytes=b"", sample_s=1), f)
    table = page.split("<h2>Figures</h2>")[1].split("<h2>")[0]
    cells = dict(re.findall(r"<tr><th>(.*?)</th><td>(.*?)</td></tr>", table))
    assert cells["Return"] == "23.64 %"
    assert cells["Max drawdown"] == "0.34 %"
    assert cells["Starting cash"] == "$100,000.00"
    assert cells["Data span"] == "40 s"
    assert cells["Sharpe ratio (daily returns, annualised)"].startswith("not enough data: needs")
    raw = [k for k in cells if re.fullmatch(r"[a-z_]+", k)]
    assert not raw, f"raw field names in the figures: {raw}"


def test_every_figure_the_report_has_is_labelled():
    for f in (forty_seconds(), days([100_000.0 + d for d in range(30)])):
        assert figures.unlabelled(build_report(f, journal_bytes=b"", sample_s=1)) == []
