"""The pure parts of the tick-to-trade bench: the trigger protocol and the analysis."""

from __future__ import annotations

import pytest

from tradewire.app.config import load_config
from tradewire.bench.tick_to_trade import TUNINGS, _config_yaml, analyse, ratios, split
from tradewire.sim.triggers import TriggerLog, trigger_of, trigger_quote


def test_trigger_quote_encodes_k_in_sequence_and_a_one_cent_spread():
    q = trigger_quote(7, base=100.0)
    assert (q["ev"], q["sym"], q["q"]) == ("Q", "TRIG", 7)
    assert (q["bp"], q["ap"]) == (100.07, 100.08)
    assert trigger_quote(107)["bp"] == trigger_quote(7)["bp"]  # prices cycle every 100


def test_trigger_of_reads_the_bench_suffix_only():
    assert trigger_of("bench123-t42") == 42
    assert trigger_of("tw-abc-9") is None
    assert trigger_of("") is None


def test_trigger_log_keeps_first_arrival_and_counts_duplicates_and_strangers():
    log = TriggerLog(rate=100.0, count=2)
    log.sent[0] = (0, 1_000, 1)
    log.on_order_arrival("x-t0", 50_000)
    log.on_order_arrival("x-t0", 60_000)  # a second order for one trigger
    log.on_order_arrival("x-t5", 70_000)  # never sent
    log.on_order_arrival("manual-order", 80_000)
    assert log.arrivals == {0: 50_000}
    assert (log.duplicates, log.unmatched) == (1, 2)


def _log(latencies_us: list[float | None], rate: float = 100.0) -> dict:
    # Trigger k written at k * interval; None = no order came.
    interval = int(1e9 / rate)
    sent, arrivals = [], []
    for k, lat in enumerate(latencies_us):
        written = k * interval + 5_000
        sent.append([k, k * interval, written, 1])
        if lat is not None:
            arrivals.append([k, written + int(lat * 1000)])
    return {
        "rate": rate,
        "sent": sent,
        "arrivals": arrivals,
        "duplicates": 0,
        "unmatched_orders": 0,
    }


def test_analyse_counts_missed_and_reports_percentiles():
    figures, hist = analyse(_log([10.0] * 98 + [1000.0, None]))
    assert figures["triggers_delivered"] == 100
    assert figures["missed_triggers"] == 1
    assert figures["orders_matched"] == 99
    lat = figures["latency"]
    assert lat["samples"] == 99
    assert lat["p50_us"] == pytest.approx(10.0, rel=0.01)
    assert lat["max_us"] == pytest.approx(1000.0, rel=0.01)
    assert hist.get_total_count() == 99


def test_analyse_ignores_triggers_nobody_was_subscribed_to():
    log = _log([10.0, 10.0])
    log["sent"][1][3] = 0  # zero frames written
    figures, _ = analyse(log)
    assert (figures["triggers_sent"], figures["triggers_delivered"]) == (2, 1)


def test_co_correction_backfills_a_stall_longer_than_the_interval():
    # 100/s = 10 ms apart; one 35 ms stall would have hidden 3 more triggers in a closed loop.
    figures, _ = analyse(_log([20.0] * 50 + [35_000.0]))
    assert figures["latency"]["samples"] == 51
    assert figures["latency_co_corrected"]["samples"] == 54
    assert figures["latency_co_corrected"]["p99_us"] > figures["latency"]["p99_us"]


def test_split_uses_the_strategy_trace_on_the_same_clock():
    log = _log([30.0])
    written = log["sent"][0][2]
    trace = {"0": [written + 8_000, written + 28_000]}
    parts = split(log, trace)
    assert parts["wire_in"]["p50"] == 8.0
    assert parts["engine"]["p50"] == 20.0
    assert parts["wire_out"]["p50"] == 2.0


def test_ratios_are_theirs_over_ours_and_none_without_samples():
    ours = {"p50_us": 10.0, "p90_us": 20.0, "p99_us": 40.0, "p99_9_us": 0.0, "max_us": 50.0}
    theirs = {
        "p50_us": 400.0,
        "p90_us": 500.0,
        "p99_us": 800.0,
        "p99_9_us": 900.0,
        "max_us": 1000.0,
    }
    r = ratios(ours, theirs)
    assert (r["p50"], r["p99"], r["p99_9"]) == (40.0, 20.0, None)


@pytest.mark.parametrize("name", ["tradewire", "tradewire-untuned", "tradewire-busy-poll"])
def test_every_engine_contender_gets_a_config_the_engine_accepts(tmp_path, name):
    # Arrange
    path = tmp_path / "bench.yaml"
    path.write_text(_config_yaml(["AAPL"], tmp_path, tuning=TUNINGS[name]))
    # Act
    tuning = load_config(path).tuning
    # Assert: the shipped default is what "tradewire" measures; the variants differ from it
    expected = {
        "tradewire": (True, "freeze", False),
        "tradewire-untuned": (False, "freeze", False),
        "tradewire-busy-poll": (True, "freeze", True),
    }[name]
    assert (tuning.enabled, tuning.gc, tuning.busy_poll) == expected
    shipped = load_config(None).tuning
    if name == "tradewire":
        assert (shipped.gc, shipped.busy_poll) == (tuning.gc, tuning.busy_poll)


async def test_the_simulator_reports_trigger_progress_without_building_the_log():
    """The bench polls ``/_sim/trigger-status`` while triggers run: its answer is a few
    counters whatever the log's size, and agrees with the whole log fetched at the end."""
    import aiohttp

    from tradewire.sim.venue import VenueConfig, VenueSimulator

    async with VenueSimulator(VenueConfig(symbols=("AAPL",), trigger_count=3000)) as venue:
        log = venue.triggers
        for k in range(3000):
            log.sent[k] = (k * 5_000_000, k * 5_000_000 + 1_234, 17)
            if k % 3:
                log.arrivals[k] = k * 5_000_000 + 300_000
        log.started = True
        headers = {"APCA-API-KEY-ID": "test-key", "APCA-API-SECRET-KEY": "test-secret"}
        async with aiohttp.ClientSession(venue.broker_url, headers=headers) as http:
            async with http.get("/_sim/trigger-status") as resp:
                body = await resp.read()
                status = await resp.json()
            async with http.get("/_sim/triggers") as resp:
                whole = await resp.json()
    assert status == {
        "started": True,
        "done": False,
        "count": 3000,
        "written": 3000,
        "arrived": 2000,
    }
    assert len(body) < 200
    assert len(whole["sent"]) == status["written"]
    assert len(whole["arrivals"]) == status["arrived"]


def test_each_contender_is_held_against_the_c_floor_of_its_waiting_kind():
    from tradewire.bench.floors import versus_floor

    def lat(p50: float, p99: float) -> dict[str, object]:
        return {"latency": {"p50_us": p50, "p99_us": p99}}

    per = {
        "floor-c": lat(40.0, 100.0),
        "floor-c-busy": lat(15.0, 20.0),
        "floor-py": lat(60.0, 90.0),
        "tradewire": lat(60.0, 300.0),
        "tradewire-busy-poll": lat(45.0, 30.0),
    }
    vs = versus_floor(per)
    assert set(vs) == {"floor-py", "tradewire", "tradewire-busy-poll"}
    assert vs["tradewire"] == {"floor": "floor-c", "p50": 1.5, "p99": 3.0}
    assert vs["tradewire-busy-poll"] == {"floor": "floor-c-busy", "p50": 3.0, "p99": 1.5}
    assert versus_floor({"tradewire": lat(1.0, 2.0)}) == {}


def test_the_cli_default_runs_the_default_contenders():
    from tradewire.bench.cli import DEFAULT_CONTENDERS
    from tradewire.bench.tick_to_trade import CONTENDERS

    assert DEFAULT_CONTENDERS.split(",") == list(CONTENDERS)
