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
    throughput = results["throughput"]
    assert set(throughput["contenders"]) == {
        "tradewire",
        "massive",
        "tradewire-crypto",  # XQ/XT frames on /crypto, their own rows (issue 23)
        "massive-crypto",
    }
    assert all(r["quotes"] == 20_000 for r in throughput["contenders"].values())
    assert throughput["ratio_tradewire_vs_massive_crypto"] > 0
    per = results["order_path"]["servers"]["fixed"]
    assert set(per) == {"tradewire-raw", "tradewire-aiohttp", "alpaca-py"}
    assert all(r["samples"] == 50 and r["p99_us"] >= r["p50_us"] > 0 for r in per.values())


def test_bench_rounds_pair_the_contenders_round_by_round(tmp_path):
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "tradewire.app.cli",
            "bench",
            "--quick",
            "--rounds",
            "2",
            "--contenders",
            "tradewire,tradewire-warm",
            "--triggers",
            "20",
            "--json",
            str(out),
            "--keep-dir",
            str(tmp_path / "keep"),
        ],
        timeout=300,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    t2t = json.loads(out.read_text())["tick_to_trade"]
    assert len(t2t["rounds"]) == 2
    for rnd in t2t["rounds"]:
        assert set(rnd) == {"tradewire", "tradewire-warm"}
        assert rnd["tradewire"]["engine_p50"] > 0
    pooled = t2t["contenders"]["tradewire"]
    assert pooled["rounds"] == 2
    assert pooled["triggers_delivered"] == 40
    assert pooled["latency"]["samples"] == pooled["orders_matched"]
    warm = t2t["versus_tradewire"]["tradewire-warm"]
    assert warm["p50"]["rounds"] == 2
    assert warm["engine_p50"]["rounds"] == 2
    assert len(warm["p50"]["per_round"]) == 2
    assert "2 rounds, in alternating order" in run.stdout
    # Each round kept its own raw material.
    assert (tmp_path / "keep" / "round-2" / "tradewire" / "triggers.json").exists()


def test_bench_rejects_unknown_contender_and_bad_rounds():
    for bad, what in ((["--contenders", "tradewire,nope"], "nope"), (["--rounds", "0"], "rounds")):
        run = subprocess.run(
            [sys.executable, "-m", "tradewire.app.cli", "bench", *bad],
            timeout=60,
            capture_output=True,
            text=True,
        )
        assert run.returncode == 2
        assert what in run.stderr
        assert "Traceback" not in run.stderr
