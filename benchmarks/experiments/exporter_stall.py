"""How long a Prometheus scrape stalls the engine's loop: ``python benchmarks/experiments/exporter_stall.py``.

An experiment, not part of ``tradewire bench`` or the wheel: run it from a checkout with tradewire
installed (or ``PYTHONPATH=src``).

The exporter drains the hot path's rings into HdrHistograms and computes quantiles when it
is scraped, in Python, on its own thread (~2 µs per sample: 10,000 samples hold the GIL for
~20 ms). On the engine's CPU that thread competes with the loop for the CPU itself (the
kernel lets it run a few ms before the loop's timer wakes) and for the GIL (held up to the
switch interval, 5 ms by default, before the loop gets it back). Each configuration here
runs in its own process: an asyncio loop on the engine CPU records ~1,000 samples/s per
stage and measures the lag of a 1 ms timer, while a separate process scrapes the real
``MetricsExporter`` every 50 ms. Reported, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from typing import Any

from tradewire.metrics.exporter import MetricsExporter
from tradewire.metrics.recorder import Recorder

_SCRAPER = r"""
import sys, time, urllib.request
url, end = sys.argv[1], time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    urllib.request.urlopen(url, timeout=10).read()
    time.sleep(0.05)
"""


async def _lags(recorder: Recorder, seconds: float) -> list[float]:
    lags: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for stage in recorder.stages.values():
            stage.record(random.randint(5_000, 500_000))
        t0 = time.perf_counter()
        await asyncio.sleep(0.001)
        lags.append((time.perf_counter() - t0 - 0.001) * 1e6)
    return sorted(lags)


def _child(args: argparse.Namespace) -> None:
    os.sched_setaffinity(0, {args.engine_cpu})
    cpus = {int(c) for c in args.exporter_cpus.split(",")} if args.exporter_cpus else None
    if args.switch_us:
        sys.setswitchinterval(args.switch_us / 1e6)
    recorder = Recorder()
    exporter = MetricsExporter(recorder, port=0)
    exporter.start(cpus=cpus)
    scraper = subprocess.Popen([sys.executable, "-c", _SCRAPER, exporter.url, str(args.seconds)])
    try:
        lags = asyncio.run(_lags(recorder, args.seconds))
    finally:
        scraper.wait()
        exporter.stop()
    n = len(lags)
    result = {
        "exporter_cpus": sorted(cpus) if cpus else "engine's",
        "switch_interval_us": round(sys.getswitchinterval() * 1e6),
        "lag_p50_us": round(lags[n // 2]),
        "lag_p99_us": round(lags[int(n * 0.99)]),
        "lag_p99_9_us": round(lags[int(n * 0.999)]),
        "lag_max_us": round(lags[-1]),
        "samples": n,
    }
    print(json.dumps(result), flush=True)


def run(seconds: float = 6.0) -> list[dict[str, Any]]:
    """The shipped setting (exporter on the housekeeping CPU, 200 µs) against the old one."""
    cpus = sorted(os.sched_getaffinity(0))
    engine, other = cpus[-1], cpus[0]
    configs = (
        [(None, None), (None, 200), (other, None), (other, 200)]
        if len(cpus) > 1
        else [
            (None, None),
            (None, 200),
        ]
    )
    out = []
    for exporter_cpu, switch in configs * 2:  # twice, alternating: this machine is noisy
        cmd = [sys.executable, __file__, "--child"]
        cmd += ["--engine-cpu", str(engine), "--seconds", str(seconds)]
        if exporter_cpu is not None:
            cmd += ["--exporter-cpus", str(exporter_cpu)]
        if switch is not None:
            cmd += ["--switch-us", str(switch)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=True)
        out.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python benchmarks/experiments/exporter_stall.py")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine-cpu", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--exporter-cpus", default="", help=argparse.SUPPRESS)
    parser.add_argument("--switch-us", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return
    print("loop lag of a 1 ms timer while /metrics is scraped every 50 ms (µs)")
    print(f"{'exporter thread on':<20}{'switch':>8}{'p50':>8}{'p99':>8}{'p99.9':>8}{'max':>8}")
    for r in run(args.seconds):
        print(
            f"{r['exporter_cpus']!s:<20}{r['switch_interval_us']:>8}{r['lag_p50_us']:>8}"
            f"{r['lag_p99_us']:>8}{r['lag_p99_9_us']:>8}{r['lag_max_us']:>8}"
        )


if __name__ == "__main__":
    main()
