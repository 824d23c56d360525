"""``tradewire backtest`` as a user runs it: deterministic, reported, and clear about bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tradewire.backtest.data import write_quotes_flat_file
from tradewire.engine.journal import read_journal

ROOT = Path(__file__).parents[2]
STRATEGY = f"{ROOT}/examples/mean_reversion.py:MeanReversion"
PARAMS = '{"ema_ticks": 20, "entry_bps": 2, "exit_bps": 2, "order_qty": 10, "max_position": 50}'

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def quotes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "quotes.csv.gz"
    return write_quotes_flat_file(path, ["AAPL", "MSFT"], 20_000, seed=3)


def backtest(data: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *(sys.executable, "-m", "tradewire", "backtest", "--data", str(data)),
            *("--strategy", STRATEGY, "--symbols", "AAPL,MSFT", "--params", PARAMS),
            *("--out", str(out), "--no-progress", *extra),
        ],
        capture_output=True,
        text=True,
        timeout=150,
    )


@pytest.mark.parametrize(
    "extra",
    [(), ("--latency-model", "constant:30,60", "--fill-model", "queue", "--seed", "9")],
    ids=["zero-touch", "latency-queue"],
)
def test_the_same_data_and_seed_give_a_byte_identical_journal_and_digest(quotes, tmp_path, extra):
    first = backtest(quotes, tmp_path / "a", *extra)
    second = backtest(quotes, tmp_path / "b", *extra)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    a, b = (json.loads((tmp_path / d / "report.json").read_text()) for d in "ab")
    assert a["orders"] > 0
    assert a["fills"] > 0
    assert (tmp_path / "a" / "journal.twj").read_bytes() == (
        tmp_path / "b" / "journal.twj"
    ).read_bytes()
    assert a["digest"] == b["digest"]
    a.pop("events_per_s"), b.pop("events_per_s")
    a.pop("wall_s"), b.pop("wall_s")
    assert a == b


def test_the_report_holds_what_a_trader_reads(quotes, tmp_path):
    done = backtest(quotes, tmp_path, "--cash", "50000")
    report = json.loads((tmp_path / "report.json").read_text())

    assert done.returncode == 0, done.stderr
    assert report["events"] == 20_000
    assert report["events_per_s"] > 0
    assert report["starting_cash"] == 50_000
    for key in ("orders", "fills", "pnl", "max_drawdown", "sharpe", "digest", "start", "end"):
        assert key in report, key
    pnl = report["pnl"]
    assert pnl["total"] == pytest.approx(pnl["realized"] + pnl["unrealized"], abs=1e-6)
    assert set(pnl["per_symbol"]) <= {"AAPL", "MSFT"}
    assert pnl["realized"] == pytest.approx(
        sum(s["realized"] for s in pnl["per_symbol"].values()), abs=1e-6
    )
    # The journal is the same kind of file tradewire run writes, and agrees with the report.
    records = read_journal(tmp_path / "journal.twj").records
    assert sum(1 for r in records if r.kind == "intent") == report["orders"]
    assert sum(1 for r in records if r.kind in ("fill", "partial_fill")) == report["fills"]
    html = (tmp_path / "report.html").read_text()
    assert "<svg" in html
    assert (tmp_path / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report["digest"] in done.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--data", "/nonexistent/q.csv.gz"), "no such file"),
        (("--params", "[1]"), "JSON object"),
        (("--params", "{bad"), "not JSON"),
        (("--latency-model", "fast"), "latency-model"),
        (("--strategy", f"{ROOT}/examples/mean_reversion.py:Nope"), "Nope"),
        (("--start", "yesterday"), "--start"),
        (("--symbols", " , "), "--symbols"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(quotes, tmp_path, args, says):
    base = {
        "--data": str(quotes),
        "--strategy": STRATEGY,
        "--symbols": "AAPL,MSFT",
        "--params": PARAMS,
        "--out": str(tmp_path / "out"),
    }
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    done = subprocess.run(
        [sys.executable, "-m", "tradewire", "backtest", "--no-progress"]
        + [item for pair in base.items() for item in pair]
        + [a for a in args if a not in base and a not in base.values()],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert says in done.stderr
