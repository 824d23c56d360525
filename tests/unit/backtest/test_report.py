"""The backtest's output side: metrics on hand-computed curves, a digest that compares runs,
and the files a trader opens (JSON, one self-contained HTML page, an optional PNG)."""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import json
import math
import re
from pathlib import Path

import pytest

from tradewire.backtest.report import html as report_html
from tradewire.backtest.report.model import EquityPoint, FillRow, RunFacts, SymbolPnl
from tradewire.backtest.report.text import (
    build_report,
    digest,
    max_drawdown,
    periods_per_year,
    sharpe,
    write_outputs,
)

T0 = 1_704_205_800_000_000_000  # 2024-01-02T14:30:00Z
SEC = 1_000_000_000
HAS_MPL = importlib.util.find_spec("matplotlib") is not None


def curve(values: list[float], step_s: int = 60) -> list[EquityPoint]:
    return [
        EquityPoint(T0 + i * step_s * SEC, v, 0.0, v - values[0], {"AAPL": float(i % 3)})
        for i, v in enumerate(values)
    ]


def fills() -> list[FillRow]:
    return [
        FillRow(T0 + 5 * SEC, "c-1", "AAPL", "buy", 10.0, 185.25),
        FillRow(T0 + 65 * SEC, "c-2", "MSFT", "buy", 5.0, 370.5),
        FillRow(T0 + 125 * SEC, "c-3", "AAPL", "sell", 4.0, 186.0),
    ]


def facts(**overrides: object) -> RunFacts:
    base = RunFacts(
        events=12_000,
        batches=300,
        wall_s=2.0,
        orders=4,
        denied=1,
        canceled=1,
        rejected=0,
        fills=fills(),
        equity=curve([100_000.0, 100_100.0, 99_900.0, 100_050.0]),
        per_symbol=[
            SymbolPnl("MSFT", 5.0, 370.5, 371.0, 0.0, 2.5),
            SymbolPnl("AAPL", 6.0, 185.25, None, 3.0, 0.0),
        ],
        starting_cash=100_000.0,
        seed=7,
        data="var/recordings/2024-01-02",
        strategy="examples.momentum:Momentum",
        params={"window": 20, "threshold": 0.5},
        latency_model="fixed:250us",
        fill_model="touch",
        start_ns=T0,
        end_ns=T0 + 180 * SEC,
    )
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


# --- max drawdown --------------------------------------------------------------------------


def test_max_drawdown_peak_to_trough() -> None:
    dd, frac = max_drawdown(curve([100, 110, 95, 88, 105, 120, 115]))
    assert dd == pytest.approx(22.0)
    assert frac == pytest.approx(0.20)


def test_max_drawdown_later_deeper_fraction_of_its_own_peak() -> None:
    # 100 -> 90 is 10 (10%); new high 200 -> 170 is 30 (15%): the later one is both deeper.
    dd, frac = max_drawdown(curve([100, 90, 200, 170, 210]))
    assert dd == pytest.approx(30.0)
    assert frac == pytest.approx(0.15)


def test_max_drawdown_dollar_and_fraction_maxima_are_independent() -> None:
    # 100 -> 50 is $50 at 50%; 1000 -> 900 is $100 at 10%.
    dd, frac = max_drawdown(curve([100, 50, 1000, 900]))
    assert dd == pytest.approx(100.0)
    assert frac == pytest.approx(0.5)


@pytest.mark.parametrize("values", [[], [100.0], [100, 100, 101, 150, 150.5]])
def test_max_drawdown_zero_for_empty_and_monotone(values: list[float]) -> None:
    assert max_drawdown(curve(values)) == (0.0, 0.0)


# --- sharpe --------------------------------------------------------------------------------


def direct_sharpe(values: list[float], ppy: float) -> float:
    rets = [b / a - 1 for a, b in itertools.pairwise(values)]
    mean = sum(rets) / len(rets)
    var = sum((r - mean) ** 2 for r in rets) / (len(rets) - 1)
    return mean / math.sqrt(var) * math.sqrt(ppy)


def test_sharpe_known_returns() -> None:
    # returns +10%, -10%, +10%: mean 1/30, sample std sqrt(0.04/3)
    values = [100.0, 110.0, 99.0, 108.9]
    ppy = periods_per_year(60)
    expected = (1 / 30) / math.sqrt(0.04 / 3) * math.sqrt(ppy)
    got = sharpe(curve(values), periods_per_year=ppy)
    assert got == pytest.approx(expected, rel=1e-9)
    assert got == pytest.approx(direct_sharpe(values, ppy), rel=1e-12)


def test_sharpe_matches_direct_computation_on_a_longer_curve() -> None:
    values = [100_000 + 37 * ((i * 7919) % 23) - 5 * i for i in range(200)]
    got = sharpe(curve([float(v) for v in values]), periods_per_year=98_280)
    assert got == pytest.approx(direct_sharpe([float(v) for v in values], 98_280), rel=1e-12)


def test_periods_per_year_convention() -> None:
    assert periods_per_year(60) == pytest.approx(252 * 6.5 * 60)
    assert periods_per_year(1) == pytest.approx(252 * 6.5 * 3600)
    with pytest.raises(ValueError, match="sample_s"):
        periods_per_year(0)


@pytest.mark.parametrize(
    "values",
    [[], [100.0], [100.0, 101.0], [100.0, 100.0, 100.0], [100.0, 110.0, 121.0, 133.1]],
)
def test_sharpe_none_without_two_returns_or_spread(values: list[float]) -> None:
    assert sharpe(curve(values), periods_per_year=252) is None


def test_sharpe_none_once_equity_is_not_positive() -> None:
    assert sharpe(curve([100.0, 0.0, 50.0, 60.0]), periods_per_year=252) is None


# --- digest --------------------------------------------------------------------------------


def test_digest_stable_and_sensitive() -> None:
    journal = b"\x01journal record one\n\x02record two\n"
    d = digest(journal, fills())
    assert re.fullmatch(r"[0-9a-f]{64}", d)
    assert digest(journal, fills()) == d
    moved = fills()
    moved[1] = dataclasses.replace(moved[1], price=370.51)
    assert digest(journal, moved) != d
    assert digest(journal[:-1] + b"!", fills()) != d
    assert digest(journal, fills()[:-1]) != d
    # an int qty and the same float qty are the same fill
    as_int = [dataclasses.replace(f, qty=int(f.qty)) for f in fills()]
    assert digest(journal, as_int) == d


def test_digest_ignores_wall_time() -> None:
    slow = build_report(facts(wall_s=60.0), journal_bytes=b"j", sample_s=60)
    fast = build_report(facts(wall_s=0.5), journal_bytes=b"j", sample_s=60)
    assert slow["digest"] == fast["digest"]
    assert slow["events_per_s"] != fast["events_per_s"]
    strip = ("events_per_s", "wall_s")
    assert {k: v for k, v in slow.items() if k not in strip} == {
        k: v for k, v in fast.items() if k not in strip
    }


# --- build_report --------------------------------------------------------------------------


def test_build_report_keys_and_values() -> None:
    f = facts()
    r = build_report(f, journal_bytes=b"journal", sample_s=60)
    assert r["events"] == 12_000
    assert r["events_per_s"] == pytest.approx(6_000.0)
    assert r["wall_s"] == 2.0
    assert (r["batches"], r["orders"], r["fills"]) == (300, 4, 3)
    assert (r["denied"], r["canceled"], r["rejected"]) == (1, 1, 0)
    assert r["pnl"]["realized"] == pytest.approx(3.0)
    assert r["pnl"]["unrealized"] == pytest.approx(2.5)
    assert r["pnl"]["total"] == pytest.approx(5.5)
    assert list(r["pnl"]["per_symbol"]) == ["AAPL", "MSFT"]
    assert r["pnl"]["per_symbol"]["AAPL"] == {
        "position": 6.0,
        "avg_price": 185.25,
        "mark": None,
        "realized": 3.0,
        "unrealized": 0.0,
    }
    assert r["pnl"]["per_symbol"]["MSFT"]["mark"] == 371.0
    # 100100 -> 99900 is $200, 200/100100 of the peak
    assert r["max_drawdown"] == pytest.approx(200.0)
    assert r["max_drawdown_pct"] == pytest.approx(round(200 / 100_100 * 100, 6))
    # Three minutes hold no daily return to annualise: no Sharpe, and the reason
    # (test_report_figures.py covers the daily computation)
    assert r["sharpe"] is None
    assert r["sharpe_note"].startswith("not enough data: needs at least 20 daily returns")
    assert (r["trading_days"], r["span_s"]) == (1, 180.0)
    assert r["final_equity"] == 100_050.0
    assert r["starting_cash"] == 100_000.0
    assert r["digest"] == digest(b"journal", f.fills)
    assert r["start"] == "2024-01-02T14:30:00Z"
    assert r["end"] == "2024-01-02T14:33:00Z"
    assert r["sample_s"] == 60
    assert r["run"] == {
        "data": "var/recordings/2024-01-02",
        "strategy": "examples.momentum:Momentum",
        "params": {"threshold": 0.5, "window": 20},
        "seed": 7,
        "latency_model": "fixed:250us",
        "fill_model": "touch",
    }
    json.dumps(r, allow_nan=False)  # plain JSON, no NaN


def test_build_report_empty_run() -> None:
    r = build_report(
        facts(fills=[], equity=[], per_symbol=[], wall_s=0.0),
        journal_bytes=b"",
        sample_s=1,
    )
    assert r["fills"] == 0
    assert r["events_per_s"] is None
    assert r["sharpe"] is None
    assert (r["max_drawdown"], r["max_drawdown_pct"]) == (0.0, 0.0)
    assert r["final_equity"] == 100_000.0
    assert r["pnl"] == {"realized": 0.0, "unrealized": 0.0, "total": 0.0, "per_symbol": {}}


def test_build_report_rounds_floats() -> None:
    r = build_report(
        facts(per_symbol=[SymbolPnl("AAPL", 1.0, 1 / 3, 0.1 + 0.2, 0.1 + 0.2, -0.0)]),
        journal_bytes=b"",
        sample_s=60,
    )
    sym = r["pnl"]["per_symbol"]["AAPL"]
    assert sym["avg_price"] == 0.333333
    assert sym["mark"] == 0.3
    assert math.copysign(1.0, sym["unrealized"]) == 1.0  # no "-0.0" in the JSON


# --- write_outputs -------------------------------------------------------------------------


def test_write_outputs(tmp_path: Path) -> None:
    f = facts()
    r = build_report(f, journal_bytes=b"journal", sample_s=60)
    out = tmp_path / "run-1"
    written = write_outputs(r, f, out)
    names = [p.name for p in written]
    assert names[:2] == ["report.json", "report.html"]
    assert all(p.parent == out and p.exists() for p in written)

    text = (out / "report.json").read_text()
    assert json.loads(text) == r
    assert text == json.dumps(r, sort_keys=True, indent=2) + "\n"

    page = (out / "report.html").read_text()
    assert page.count("<svg") >= 3  # equity, drawdown, positions
    assert "AAPL" in page
    assert "MSFT" in page
    assert "c-3" in page
    assert r["digest"] in page
    assert "http" not in page.lower()  # nothing fetched: no scripts, fonts, images or xmlns
    assert "<script" not in page.lower()
    assert "<polyline" in page

    if HAS_MPL:
        assert names == ["report.json", "report.html", "equity.png"]
        assert (out / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert names == ["report.json", "report.html"]


def test_write_outputs_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def hide(name: str, *args: object, **kwargs: object) -> object:
        return None if name.split(".")[0] == "matplotlib" else real(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", hide)
    f = facts()
    written = write_outputs(build_report(f, journal_bytes=b"", sample_s=60), f, tmp_path)
    assert [p.name for p in written] == ["report.json", "report.html"]
    assert not (tmp_path / "equity.png").exists()


def test_html_escapes_every_string(tmp_path: Path) -> None:
    evil = "<img src=x onerror=alert(1)>"
    f = facts(
        strategy=evil,
        params={"note": evil},
        fills=[FillRow(T0, evil, "A&B", "buy", 1.0, 1.0)],
        per_symbol=[SymbolPnl("<b>", 1.0, 1.0, 1.0, 0.0, 0.0)],
        equity=[EquityPoint(T0, 1.0, 0.0, 0.0, {"<i>": 1.0})],
    )
    write_outputs(build_report(f, journal_bytes=b"", sample_s=60), f, tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert "<img" not in page
    assert "<b>" not in page
    assert "<i>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "A&amp;B" in page


def test_html_shows_only_the_last_50_fills() -> None:
    many = [FillRow(T0 + i * SEC, f"ord-{i:04d}", "AAPL", "buy", 1.0, 100.0) for i in range(120)]
    f = facts(fills=many)
    page = report_html.render_html(build_report(f, journal_bytes=b"", sample_s=60), f)
    assert "ord-0119" in page
    assert "ord-0070" in page
    assert "ord-0069" not in page


# --- downsampling --------------------------------------------------------------------------


def test_downsample_keeps_extremes_and_order() -> None:
    xs = list(range(10_000))
    ys = [float(i % 100) for i in xs]
    ys[5_003] = -1_000.0  # a one-sample drawdown must survive
    ys[7_777] = 1_000.0
    pts = report_html.downsample(xs, ys, 200)
    assert len(pts) <= 200
    assert (5_003, -1_000.0) in pts
    assert (7_777, 1_000.0) in pts
    assert pts[0] == (0, 0.0)
    assert pts[-1] == (9_999, 99.0)
    assert [p[0] for p in pts] == sorted({p[0] for p in pts})


def test_downsample_short_series_untouched() -> None:
    assert report_html.downsample([1, 2, 3], [3.0, 1.0, 2.0], 10) == [(1, 3.0), (2, 1.0), (3, 2.0)]


@pytest.mark.timeout(60)
def test_million_point_curve_renders_downsampled() -> None:
    n = 1_000_000
    pos = {"AAPL": 10.0}
    flat: dict[str, float] = {}
    equity = [
        EquityPoint(
            T0 + i * SEC,
            100_000.0 + (i % 977) - (i % 5003) * 0.1,
            0.0,
            0.0,
            pos if i % 2000 < 1000 else flat,
        )
        for i in range(n)
    ]
    f = facts(equity=equity, end_ns=T0 + n * SEC)
    page = report_html.render_html(build_report(f, journal_bytes=b"", sample_s=1), f)
    lines = re.findall(r'<polyline[^>]* points="([^"]*)"', page)
    assert len(lines) >= 3
    for points in lines:
        assert 2 <= len(points.split()) <= 4_000
