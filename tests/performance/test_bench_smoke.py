"""The benchmark command runs and emits complete JSON. No timing is asserted (noisy machines)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_quick_tick_to_trade_emits_complete_json_and_plot(tmp_path):
    # Arrange
    out, png = tmp_path / "bench.json", tmp_path / "bench.png"

    # Act
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "tradewire.app.cli",
            "bench",
            "--quick",
            "--json",
            str(out),
            "--plot",
            str(png),
        ],
        timeout=300,
        capture_output=True,
        text=True,
    )

    # Assert
    assert run.returncode == 0, run.stdout + run.stderr
    t2t = json.loads(out.read_text())["tick_to_trade"]
    assert t2t["scenario"]["triggers"] == 100
    ours = ("tradewire", "tradewire-busy-poll")
    floors = ("floor-c", "floor-c-busy", "floor-py")
    assert set(t2t["contenders"]) == {*floors, *ours, "sdk"}
    for name, r in t2t["contenders"].items():
        # Every trigger the contender saw was answered exactly once.
        assert r["triggers_delivered"] == 100, name
        assert r["orders_matched"] + r["missed_triggers"] == 100, name
        assert r["duplicate_orders"] == 0, name
        lat = r["latency"]
        assert lat["samples"] == r["orders_matched"], name
        assert (
            0 < lat["p50_us"] <= lat["p90_us"] <= lat["p99_us"] <= lat["p99_9_us"] <= lat["max_us"]
        )
        assert r["latency_co_corrected"]["samples"] >= lat["samples"], name
        if name in ours:  # the SDK baseline and the floors are not traced
            assert set(r["split_us"]) == {"wire_in", "engine", "wire_out"}
    for name in ours:
        stages = t2t["contenders"][name]["engine_stages_us"]
        assert stages["callback_to_order_written"]["count"] >= 90
    assert set(t2t["ratios_sdk_over_tradewire"]) == {"p50", "p90", "p99", "p99_9", "max"}
    # Every contender against the C floor of its waiting kind, from the same run.
    vs = t2t["versus_c_floor"]
    assert vs["tradewire"]["floor"] == "floor-c"
    assert vs["tradewire-busy-poll"]["floor"] == "floor-c-busy"
    assert vs["sdk"]["p50"] > 0
    assert "against the C floor of the same run" in run.stdout
    machine = json.loads(out.read_text())["machine"]
    assert machine["loopback_rtt_blocking"]["p50_us"] > 0
    assert "machine (same run, from Python)" in run.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "ratio SDKs / tradewire" in run.stdout


def test_bench_quick_components_emit_complete_json(tmp_path):
    out = tmp_path / "bench.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tradewire.app.cli",
            "bench",
            "--quick",
            "--throughput",
            "--order-path",
            "--json",
            str(out),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    results = json.loads(out.read_text())
    assert set(results["throughput"]["contenders"]) == {"tradewire", "massive"}
    assert results["throughput"]["contenders"]["tradewire"]["quotes"] == 20_000
    per = results["order_path"]["servers"]["fixed"]
    assert set(per) == {"tradewire-raw", "tradewire-aiohttp", "alpaca-py"}
    assert all(r["samples"] == 50 and r["p99_us"] >= r["p50_us"] > 0 for r in per.values())


def test_bench_rejects_unknown_contender():
    run = subprocess.run(
        [sys.executable, "-m", "tradewire.app.cli", "bench", "--contenders", "tradewire,nope"],
        timeout=60,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert "nope" in run.stderr
