"""``tradewire backtest`` as a user runs it: deterministic, reported, and clear about bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tradewire.backtest.data import write_quotes_flat_file
from tradewire.engine.journal.store import read_journal

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
    # A recording of seconds has no Sharpe ratio: null in the JSON with the reason, and the
    # reason where the number would be; every figure labelled with its unit, not a field name
    assert report["sharpe"] is None
    assert report["sharpe_note"].startswith("not enough data: needs at least")
    assert re.search(
        r"Sharpe ratio\s+not enough data: needs at least \d+ daily returns", done.stdout
    )
    assert re.search(r"Return\s+-?[\d,]+\.\d\d %", done.stdout)
    assert re.search(r"Max drawdown\s+(-?[\d,]+\.\d\d|< 0\.01) % \(\$", done.stdout)
    assert "sharpe" not in done.stdout
    assert "<tr><th>Return</th><td>" in html
    assert "<th>return_pct</th>" not in html


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


HUGE = "9" * 4400  # past Python's 4300-digit int-string conversion limit


def _with_bad_rows(clean: Path, out: Path, *, huge: bool) -> Path:
    """``clean`` with bad quote rows inserted, each a copy of a good row at the same time."""
    import csv

    with clean.open(newline="") as f:
        rows = list(csv.DictReader(f))
        header = list(rows[0])
    bad: dict[int, dict[str, str]] = {
        100: {"bid_price": "nan"},
        400: {"ask_price": HUGE if huge else "inf"},
        700: {"bid_price": "500.00", "ask_price": "499.00"},
        900: {"bid_price": "600.00", "ask_price": "100.00"},
        1200: {"bid_price": "-5"},
    }
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, header, lineterminator="\n")
        writer.writeheader()
        for n, row in enumerate(rows):
            writer.writerow(row)
            if n in bad and float(row["bid_price"]) > 0 and float(row["ask_price"]) > 0:
                writer.writerow({**row, **bad[n]})
    return out


@pytest.fixture(scope="module")
def small_quotes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("small") / "quotes.csv"
    return write_quotes_flat_file(path, ["AAPL", "MSFT"], 3_000, seed=3)


@pytest.mark.parametrize("huge", [False, True], ids=["inf", "4400-digit-price"])
def test_bad_rows_are_skipped_counted_in_one_line_and_change_nothing(small_quotes, tmp_path, huge):
    # NaN, an infinite (or 4,400-digit) price, crossed and negative quotes were accepted:
    # one NaN row in 50 made a run send no order; crossed rows turned +7 into +8,961.
    dirty = _with_bad_rows(small_quotes, tmp_path / "dirty.csv", huge=huge)

    clean_run = backtest(small_quotes, tmp_path / "clean")
    dirty_run = backtest(dirty, tmp_path / "dirty")

    assert clean_run.returncode == 0, clean_run.stderr
    assert dirty_run.returncode == 0, dirty_run.stderr
    assert "Traceback" not in dirty_run.stderr
    said = re.compile(r"skipped \d+ rows?:")
    lines = [ln for ln in (dirty_run.stdout + dirty_run.stderr).splitlines() if said.search(ln)]
    assert len(lines) == 1, dirty_run.stdout + dirty_run.stderr
    assert "skipped 5 rows: 2 crossed quote, 2 non-finite price, 1 negative price" in lines[0]
    assert not said.search(clean_run.stdout + clean_run.stderr)
    a, b = (json.loads((tmp_path / d / "report.json").read_text()) for d in ("clean", "dirty"))
    assert a["orders"] > 0
    for report in (a, b):
        for key in ("events_per_s", "wall_s"):
            report.pop(key)
        report["run"].pop("data")
    assert b == a


def test_a_4400_digit_condition_is_one_line_and_exit_2_not_a_traceback(small_quotes, tmp_path):
    lines = small_quotes.read_text().splitlines()
    fields = lines[50].split(",")
    fields[7] = HUGE  # conditions: an integer past the conversion limit
    dirty = tmp_path / "huge.csv"
    dirty.write_text("\n".join([*lines[:51], ",".join(fields), *lines[51:]]) + "\n")

    done = backtest(dirty, tmp_path / "out")

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert "huge.csv:52: bad row" in done.stderr  # the header is line 1


def test_lower_case_symbols_select_the_same_events_as_upper_case(quotes, tmp_path):
    # Before: --symbols aapl,msft said "no events selected" (the data names them AAPL, MSFT).
    upper = backtest(quotes, tmp_path / "upper")
    lower = subprocess.run(
        [
            *(sys.executable, "-m", "tradewire", "backtest", "--data", str(quotes)),
            *("--strategy", STRATEGY, "--symbols", "aapl, msft", "--params", PARAMS),
            *("--out", str(tmp_path / "lower"), "--no-progress"),
        ],
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert upper.returncode == 0, upper.stderr
    assert lower.returncode == 0, lower.stderr
    a, b = (json.loads((tmp_path / d / "report.json").read_text()) for d in ("upper", "lower"))
    assert b["events"] == a["events"] > 0
    assert b["digest"] == a["digest"]
