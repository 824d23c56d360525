"""``tradewire bench``: tick-to-trade against the official SDKs, and the component benchmarks.

- (default) tick-to-trade, timed by the simulator: tradewire tuned, tradewire untuned, and
  massive + alpaca-py, each in its own process against its own simulator, side by side;
- ``--throughput``: quotes decoded and dispatched per second, tradewire vs massive;
- ``--order-path``: order round trip, tradewire (raw httptools / aiohttp) vs alpaca-py;
- ``--all``: the three.

The SDK contenders and ``--plot`` need the ``[bench]`` extra; without it they are skipped
with one line on stderr saying what to install, and our own contenders still run.

Figures are percentiles of HdrHistograms; nothing here asserts a time (shared machines are
noisy): compare the contenders of one run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

# = tick_to_trade.CONTENDERS (not imported here: the bench's modules load only when it runs)
DEFAULT_CONTENDERS = "floor-c,floor-c-busy,floor-py,tradewire,tradewire-busy-poll,sdk"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--throughput", action="store_true", help="only the quotes/s benchmark")
    parser.add_argument(
        "--order-path", action="store_true", help="only the order round-trip benchmark"
    )
    parser.add_argument(
        "--backtest",
        action="store_true",
        help="only backtest events/s: ours (no-op and sample strategy) beside NautilusTrader's",
    )
    parser.add_argument(
        "--nautilus-python",
        default=None,
        help="a Python with nautilus-trader installed, for --backtest (or $TRADEWIRE_NAUTILUS_PYTHON)",
    )
    parser.add_argument("--all", action="store_true", help="tick-to-trade and both of the above")
    parser.add_argument("--quick", action="store_true", help="small sample sizes (smoke runs)")
    parser.add_argument("--json", type=Path, default=None, help="write all results as JSON here")
    parser.add_argument(
        "--plot", type=Path, default=None, help="tick-to-trade HDR percentile chart (PNG) here"
    )
    parser.add_argument(
        "--rate", type=float, default=None, help="background quotes/s (default 20000)"
    )
    parser.add_argument("--symbols", type=int, default=None, help="background symbols (500)")
    parser.add_argument("--triggers", type=int, default=None, help="trigger quotes (3000)")
    parser.add_argument("--trigger-rate", type=float, default=None, help="triggers/s (200)")
    parser.add_argument(
        "--contenders",
        default=DEFAULT_CONTENDERS,
        help=f"comma-separated (default {DEFAULT_CONTENDERS}); more: tradewire-untuned, "
        "tradewire-warm, tradewire-compiled, tradewire-baseline ($TRADEWIRE_BENCH_BASELINE: another "
        "checkout's src), tradewire-ha (journal replicated to JetStream), tradewire-pure and "
        "tradewire-busy-poll-pure (TRADEWIRE_NATIVE=0: the pure-Python order path), "
        "floor-py-busy, tradewire-shm, tradewire-nats, "
        "tradewire-shm-x2|x4|x8",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the tick-to-trade contenders N times in alternating order and compare them "
        "round by round (median of paired ratios): to decide an effect smaller than the "
        "machine's run-to-run noise",
    )
    parser.add_argument(
        "--keep-dir", type=Path, default=None, help="keep each contender's raw data here"
    )


def _scenario(args: argparse.Namespace) -> Any:
    from tradewire.bench.tick_to_trade import Scenario

    base = (
        Scenario(rate=2_000, symbols=50, triggers=100, trigger_rate=200, warmup_s=0.5, grace_s=0.5)
        if args.quick
        else Scenario()
    )
    for field in ("rate", "symbols", "triggers", "trigger_rate"):
        value = getattr(args, field)
        if value is not None:
            if value <= 0:
                raise ValueError(f"--{field.replace('_', '-')} must be > 0")
            setattr(base, field, value)
    return base


def _skipped_line(args: argparse.Namespace, contenders: list[str]) -> tuple[str | None, bool]:
    """The one stderr line naming what a base install lacks for this run, or None; and
    whether tick-to-trade still has a contender that can run.

    Checked before anything is spawned so that the user reads why once, up front, rather
    than a traceback from a child process halfway through the run.
    """
    from tradewire.bench import extras, http_order_path, throughput, tick_to_trade

    only_components = args.throughput or args.order_path or args.backtest
    what: list[str] = []
    modules: list[str] = []
    t2t_left = True
    if args.all or not only_components:
        gone = extras.unavailable(tick_to_trade.NEEDS, contenders)
        what += [f"the {name} contender" for name in gone]
        modules += [m for name in gone for m in tick_to_trade.NEEDS[name]]
        t2t_left = len(gone) < len(contenders)
        if args.plot is not None and extras.missing(tick_to_trade.PLOT_NEEDS):
            what.append("--plot")
            modules += tick_to_trade.PLOT_NEEDS
    for flag, section, module in (
        (args.throughput, "throughput", throughput),
        (args.order_path, "order path", http_order_path),
    ):
        if args.all or flag:
            gone = extras.unavailable(module.NEEDS, module.CONTENDERS)
            what += [f"the {section}'s {name}" for name in gone]
            modules += [m for name in gone for m in module.NEEDS[name]]
    if not what:
        return None, t2t_left
    absent = extras.missing(dict.fromkeys(modules))
    return f"tradewire bench: skipping {', '.join(what)}; {extras.reason(absent)}", t2t_left


def main(args: argparse.Namespace) -> int:
    from tradewire.bench import extras, http_order_path, throughput, tick_to_trade

    contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    unknown = set(contenders) - {*tick_to_trade.CONTENDERS, *tick_to_trade.EXTRA_CONTENDERS}
    if unknown or not contenders:
        known = ", ".join((*tick_to_trade.CONTENDERS, *tick_to_trade.EXTRA_CONTENDERS))
        print(
            f"tradewire bench: unknown contenders {sorted(unknown)}; choose from {known}",
            file=sys.stderr,
        )
        return 2
    try:
        scenario = _scenario(args)
    except ValueError as exc:
        print(f"tradewire bench: {exc}", file=sys.stderr)
        return 2
    if args.rounds < 1:
        print("tradewire bench: --rounds must be >= 1", file=sys.stderr)
        return 2
    skipped_line, t2t_left = _skipped_line(args, contenders)
    if skipped_line is not None:
        print(skipped_line, file=sys.stderr, flush=True)
    if not t2t_left:
        return 2  # only contenders that cannot run were asked for: nothing to measure
    only_components = args.throughput or args.order_path or args.backtest
    results: dict[str, Any] = {}
    if args.all or not only_components:
        from tradewire.bench import machine

        results["machine"] = machine.measure(quick=args.quick)
        print("\n".join(machine.report_lines(results["machine"])), flush=True)
        t2t = tick_to_trade.run(
            scenario, contenders, keep_dir=args.keep_dir, rounds_count=args.rounds
        )
        print(tick_to_trade.report(t2t), flush=True)
        plot_skipped: str | None = None
        if args.plot is not None:
            absent = extras.missing(tick_to_trade.PLOT_NEEDS)
            if absent:
                plot_skipped = extras.reason(absent)
                print(f"  plot: skipped, {plot_skipped}", flush=True)
            else:
                tick_to_trade.plot(t2t, args.plot)
                print(f"  plot: {args.plot}", flush=True)
        results["tick_to_trade"] = tick_to_trade.strip_histograms(t2t)
        if plot_skipped is not None:
            results["tick_to_trade"]["plot_skipped"] = plot_skipped
    if args.all or args.throughput:
        total = 20_000 if args.quick else 400_000
        results["throughput"] = throughput.run(total=total)
        print(throughput.report(results["throughput"]), flush=True)
    if args.all or args.order_path:
        count, warmup = (50, 10) if args.quick else (1000, 100)
        servers = ("fixed",) if args.quick else ("fixed", "sim")
        results["order_path"] = http_order_path.run(count, warmup, servers)
        print(http_order_path.report(results["order_path"]), flush=True)
    if args.all or args.backtest:
        from tradewire.bench import backtest

        rows = 30_000 if args.quick else 300_000
        results["backtest"] = backtest.run(
            rows=rows, rounds=1 if args.quick else 3, nautilus_python=args.nautilus_python
        )
        print(backtest.report(results["backtest"]), flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0
