"""``tradewire bench``: the benchmarks that exist today, each contender in its own process.

- ``--throughput``: quotes decoded and dispatched per second, tradewire vs massive;
- ``--order-path``: order round trip, tradewire (raw httptools / aiohttp) vs alpaca-py.

Tick-to-trade (simulator wrote quote → simulator read order, against the official SDKs
as baseline) is the next step and is not measured here yet.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--throughput", action="store_true", help="only the quotes/s benchmark")
    parser.add_argument(
        "--order-path", action="store_true", help="only the order round-trip benchmark"
    )
    parser.add_argument("--quick", action="store_true", help="small sample sizes (smoke runs)")
    parser.add_argument("--json", type=Path, default=None, help="write all results as JSON here")


def main(args: argparse.Namespace) -> int:
    from tradewire.bench import http_order_path, throughput

    both = not args.throughput and not args.order_path
    results: dict[str, Any] = {}
    if args.throughput or both:
        total = 20_000 if args.quick else 400_000
        results["throughput"] = throughput.run(total=total)
        print(throughput.report(results["throughput"]), flush=True)
    if args.order_path or both:
        count, warmup = (50, 10) if args.quick else (1000, 100)
        servers = ("fixed",) if args.quick else ("fixed", "sim")
        results["order_path"] = http_order_path.run(count, warmup, servers)
        print(http_order_path.report(results["order_path"]), flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0
