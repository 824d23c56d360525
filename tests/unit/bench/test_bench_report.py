"""The tick-to-trade text report, rendered from fixed numbers: columns line up whatever the
labels' lengths, and a stage derived from two processes' stamps that went below zero is
shown as ~0 with the skew named, never as a bare negative time."""

from __future__ import annotations

import re
from typing import Any

from tradewire.bench.tick_to_trade import report


def _lat(p50: float) -> dict[str, float]:
    return {
        "samples": 3000,
        "p50_us": p50,
        "p90_us": p50 * 1.5,
        "p99_us": p50 * 3,
        "p99_9_us": p50 * 10,
        "max_us": p50 * 100,
        "mean_us": p50,
    }


def _figures(p50: float, wire_out_p50: float) -> dict[str, Any]:
    return {
        "missed_triggers": 0,
        "duplicate_orders": 0,
        "unmatched_orders": 0,
        "latency": _lat(p50),
        "latency_co_corrected": _lat(p50),
        "placement": {"pinned": False, "why": "only 1 CPU available"},
        "split_us": {
            "wire_in": {"p50": 20.0, "p90": 25.0, "p99": 40.0, "p99_9": 90.0},
            "engine": {"p50": 12.5, "p90": 14.0, "p99": 30.0, "p99_9": 60.0},
            "wire_out": {"p50": wire_out_p50, "p90": 3.0, "p99": 8.5, "p99_9": 20.0},
        },
        "engine_stages_us": {
            "risk": {"p50": 1.0, "p90": 1.2, "p99": 2.0, "p99_9": 5.0, "max": 9.0, "count": 3000},
            "order_request_bytes": {
                "p50": 2.0,
                "p90": 2.5,
                "p99": 4.0,
                "p99_9": 12.0,
                "max": 100.0,
                "count": 3000,
            },
        },
    }


RESULTS: dict[str, Any] = {
    "scenario": {"rate": 2000, "symbols": 50, "triggers": 300, "trigger_rate": 100},
    "contenders": {
        "tradewire": _figures(45.2, 2.1),
        # Longer than the old fixed 22-character column: it pushed its row to the right.
        "tradewire-busy-poll-warm": _figures(1234.5, -1.8),
        "tradewire-shm-x8": _figures(9.9, 0.4),
    },
    "skipped": {"sdk": "needs massive, alpaca"},
    "ratios_sdk_over_tradewire": {"p50": 3.1, "p90": 2.9, "p99": 12.25, "p99_9": None, "max": 1.0},
}


def _right_edges(line: str, n: int) -> list[int]:
    """Where the last ``n`` cells of a row end (the numeric columns are right-aligned)."""
    return [m.end() for m in re.finditer(r"\S+(?: \(skew [^)]*\))?", line)][-n:]


def _header_edges(header: str, n: int) -> list[int]:
    """Where the last ``n`` column names of a header end ("wire in p50" ends with p50)."""
    names = r"(?<!\S)(samples|missed|p99\.9|p\d\d|max|n)(?!\S)"
    return [m.end() for m in re.finditer(names, header)][-n:]


LABELS = ("tradewire", "tradewire, busy-poll, warm", "tradewire-shm-x8")


def _block(text: str, first: str) -> list[str]:
    """The header line starting with ``first`` and the lines after it at its indentation."""
    lines = text.splitlines()
    start = next(i for i, x in enumerate(lines) if x.strip().startswith(first))
    indent = len(lines[start]) - len(lines[start].lstrip())
    block = [lines[start]]
    for x in lines[start + 1 :]:
        if len(x) - len(x.lstrip()) != indent or not x.strip():
            break
        block.append(x)
    return block


def _row(rows: list[str], label: str) -> str:
    """The first row of ``rows`` whose label cell is ``label``."""
    return next(r for r in rows if re.match(rf"\s*{re.escape(label)}(\s\s|\s*\d)", r))


def test_every_row_of_the_latency_table_lines_up_with_its_header():
    text = report(RESULTS)
    header, *rows = _block(text, "contender")
    edges = _header_edges(header, 7)
    contender_rows = [_row(rows, label) for label in LABELS]
    for row in contender_rows:
        assert _right_edges(row, 7) == edges, f"misaligned:\n{header}\n{row}"
    ratio = next(r for r in rows if "ratio SDKs / tradewire" in r)
    assert _right_edges(ratio, 5) == edges[2:], f"misaligned:\n{header}\n{ratio}"
    assert "n/a" in ratio
    assert "12.2x" in ratio
    # The label column is as wide as its widest label: the numbers start after it.
    label_end = max(len("    tradewire, busy-poll, warm"), len("    ratio SDKs / tradewire"))
    assert all(r[label_end] == " " for r in contender_rows)


def test_the_split_table_lines_up_and_shows_a_negative_stage_as_zero_with_the_skew():
    text = report(RESULTS)
    header, *rows = _block(text, "split")
    edges = _header_edges(header, 6)
    assert len(rows) == 3
    for row in rows:
        assert _right_edges(row, 6) == edges, f"misaligned:\n{header}\n{row}"
    assert "-1.8" not in text  # no negative time is printed as if it were one
    warm = next(r for r in rows if "busy-poll, warm" in r)
    assert "~0 (skew 1.8)" in warm
    note = next(x for x in text.splitlines() if "below zero" in x)
    assert "1.8 µs" in note
    assert "two processes" in note


def test_engine_stages_line_up_across_contenders():
    text = report(RESULTS)
    header, *rows = _block(text, "engine stages")
    edges = _header_edges(header, 6)
    assert len(rows) == 6
    for row in rows:
        assert _right_edges(row, 6) == edges, f"misaligned:\n{header}\n{row}"


def test_no_note_when_no_stage_went_negative():
    calm = dict(RESULTS, contenders={"tradewire": _figures(45.2, 2.1)})
    text = report(calm)
    assert "below zero" not in text
    assert "skew" not in text
