"""The benchmark command runs and emits complete JSON. No timing is asserted (noisy machines)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_quick_emits_complete_json(tmp_path):
    out = tmp_path / "bench.json"
    subprocess.run([sys.executable, "-m", "tradewire.cli", "bench", "--quick", "--json", str(out)],
                   check=True, timeout=300, capture_output=True)  # fmt: skip
    results = json.loads(out.read_text())
    assert set(results["throughput"]["contenders"]) == {"tradewire", "massive"}
    assert results["throughput"]["contenders"]["tradewire"]["quotes"] == 20_000
    per = results["order_path"]["servers"]["fixed"]
    assert set(per) == {"tradewire-raw", "tradewire-aiohttp", "alpaca-py"}
    assert all(r["samples"] == 50 and r["p99_us"] >= r["p50_us"] > 0 for r in per.values())
