"""``tradewire bench --rounds``: pooling rounds and pairing contenders inside each round."""

from __future__ import annotations

from typing import Any

import pytest

from tradewire.bench import rounds
from tradewire.bench.tick_to_trade import _summary, analyse, report


def _log(latencies_us: list[float]) -> dict[str, Any]:
    interval = 10_000_000  # 100 triggers/s
    sent = [[k, k * interval, k * interval + 5_000, 1] for k in range(len(latencies_us))]
    arrivals = [[k, k * interval + 5_000 + int(lat * 1000)] for k, lat in enumerate(latencies_us)]
    return {"rate": 100.0, "sent": sent, "arrivals": arrivals}


def _figures(latencies_us: list[float], engine_p50: float | None = None) -> dict[str, Any]:
    figures, hist = analyse(_log(latencies_us))
    figures["_hist"] = hist
    if engine_p50 is not None:
        figures["split_us"] = {
            "wire_in": {"p50": 10.0, "p99": 30.0},
            "engine": {"p50": engine_p50, "p99": engine_p50 * 3},
            "wire_out": {"p50": 5.0, "p99": 15.0},
        }
    return figures


def test_rounds_alternate_their_order():
    names = ["floor-c", "tradewire", "tradewire-compiled"]
    assert rounds.order(names, 0) == names
    assert rounds.order(names, 1) == list(reversed(names))
    assert rounds.order(names, 2) == names


def test_pooling_adds_the_histograms_and_counts_and_takes_the_median_split():
    per_round = [
        {"tradewire": _figures([100.0] * 10, engine_p50=50.0)},
        {"tradewire": _figures([200.0] * 10, engine_p50=70.0)},
        {"tradewire": _figures([300.0] * 30, engine_p50=60.0)},
    ]
    pooled = rounds.pool(per_round, _summary)["tradewire"]
    assert pooled["rounds"] == 3
    assert pooled["latency"]["samples"] == 50
    assert pooled["triggers_delivered"] == 50
    # 30 of the 50 samples are 300 µs: the pooled median is theirs, not a round's median.
    assert 299 <= pooled["latency"]["p50_us"] <= 301
    assert 99 <= pooled["latency"]["p90_us"] - 200 <= 101
    assert pooled["latency_co_corrected"]["samples"] >= 50
    assert pooled["split_us"]["engine"] == {"p50": 60.0, "p99": 180.0}


def test_a_contender_is_paired_with_tradewire_inside_each_round():
    # The host slows down between rounds (×2 in round 2), which a pooled comparison of the
    # two would mistake for a difference; inside each round compiled is 10 % faster at p50.
    per_round = [
        {
            "floor-c": _figures([40.0] * 20),
            "tradewire": _figures([100.0] * 20, engine_p50=50.0),
            "tradewire-compiled": _figures([90.0] * 20, engine_p50=40.0),
        },
        {
            "floor-c": _figures([80.0] * 20),
            "tradewire": _figures([200.0] * 20, engine_p50=100.0),
            "tradewire-compiled": _figures([180.0] * 20, engine_p50=110.0),
        },
        {
            "floor-c": _figures([40.0] * 20),
            "tradewire": _figures([100.0] * 20, engine_p50=50.0),
            "tradewire-compiled": _figures([90.0] * 20, engine_p50=45.0),
        },
    ]
    table = rounds.table(per_round)
    # HdrHistogram keeps 3 significant digits.
    assert table[1]["tradewire"] == {
        "p50": pytest.approx(200.0, rel=1e-3),
        "p99": pytest.approx(200.0, rel=1e-3),
        "engine_p50": 100.0,
    }
    paired = rounds.versus_reference(table)
    assert set(paired) == {"tradewire-compiled"}  # floors and the reference are not paired
    p50 = paired["tradewire-compiled"]["p50"]
    assert p50["median"] == 0.9
    assert p50["below_1"] == 3
    assert p50["rounds"] == 3
    engine = paired["tradewire-compiled"]["engine_p50"]
    assert engine["per_round"] == [0.8, 1.1, 0.9]
    assert engine["below_1"] == 2
    assert (engine["min"], engine["median"], engine["max"]) == (0.8, 0.9, 1.1)
    floor = rounds.versus_floor(per_round)
    assert floor["tradewire"]["p50"] == 2.5  # 2.5× in every round, however slow the host
    assert floor["tradewire"]["p50_range"] == [2.5, 2.5]
    assert floor["tradewire-compiled"]["floor"] == "floor-c"


def test_the_report_shows_each_round_and_the_paired_ratios():
    per_round = [
        {"tradewire": _figures([100.0] * 5, 50.0), "tradewire-warm": _figures([120.0] * 5, 40.0)},
        {"tradewire": _figures([150.0] * 5, 60.0), "tradewire-warm": _figures([140.0] * 5, 66.0)},
    ]
    pooled = rounds.pool(per_round, _summary)
    table = rounds.table(per_round)
    results = {
        "scenario": {"rate": 1000, "symbols": 5, "triggers": 5, "trigger_rate": 100},
        "contenders": pooled,
        "rounds": table,
        "versus_tradewire": rounds.versus_reference(table),
    }
    text = report(results)
    assert "2 rounds, in alternating order" in text
    assert "100/100  150/150" in text
    line = next(x for x in text.splitlines() if "warm order path" in x and "p50 " in x)
    assert "p50 1.07 [0.93-1.20] 1/2" in line  # 120/100 and 140/150: the median is the mean
    assert "engine p50 0.95 [0.80-1.10] 1/2" in line


def test_one_round_reports_no_round_lines():
    assert rounds.report_lines({"rounds": [{}]}, {}) == []
