"""``tradewire worker``: run strategies in their own process against a running gateway."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from tradewire.app.buses import NATS_PASSWORD_ENV, make_bus, worker_nats_login
from tradewire.app.strategy_log import show_strategy_logs
from tradewire.cliargs import non_negative
from tradewire.engine.loading import StrategyConfig, load_strategy
from tradewire.engine.strategy import Strategy
from tradewire.engine.symbols import normalize_symbols
from tradewire.errors import ConfigError, TradewireError
from tradewire.live.worker import WorkerNode

log = logging.getLogger("tradewire.worker")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gateway", default=None, help="shm://NAME or nats://HOST:PORT")
    parser.add_argument("--strategy", default=None, help="FILE.py:Class or package.module:Class")
    parser.add_argument("--symbols", default=None, help="comma-separated tickers")
    parser.add_argument("--params", default="{}", help="strategy params as a JSON object")
    parser.add_argument("--name", default=None, help="worker name (default: the strategy's)")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="take the gateway URL (worker.gateway) and strategies from this config",
    )
    parser.add_argument(
        "--duration", type=non_negative, default=None, help="stop after S seconds (0: never)"
    )
    parser.add_argument("--busy-poll", action="store_true", help="shm: poll instead of waiting")
    parser.add_argument(
        "--conflate",
        action="store_true",
        help="when behind, hand strategies only the newest quote per symbol (trades all)",
    )
    parser.add_argument(
        "--nats-nkey-seed",
        type=Path,
        default=None,
        help=f"nats: log in with this nkey seed file (else as --name, password ${NATS_PASSWORD_ENV})",
    )
    parser.add_argument("--log-level", default="WARNING")


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    show_strategy_logs(pane=False, stream=sys.stdout)  # a strategy's own lines, by default
    try:
        url, name, strategies = _setup(args)
        bus = make_bus(
            url,
            role="worker",
            worker=name,
            busy_poll=args.busy_poll,
            login=worker_nats_login(name, os.environ, args.nats_nkey_seed),
        )
    except (ConfigError, ValueError) as exc:
        print(f"tradewire worker: {exc}", file=sys.stderr)
        return 2
    node = WorkerNode(
        bus,
        strategies,
        name=name,
        conflate=args.conflate,
        say=lambda line: print(f"tradewire worker {name}: {line}", flush=True),
    )
    try:
        import uvloop

        return uvloop.run(_run(node, args.duration or None))
    except TradewireError as exc:
        print(f"tradewire worker: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _setup(args: argparse.Namespace) -> tuple[str, str, list[Strategy]]:
    url = args.gateway
    entries: list[StrategyConfig] = []
    if args.config is not None:
        from tradewire.app.config import load_config
        from tradewire.app.paths import Project

        config = load_config(args.config)
        project = Project.of(args.config)
        url = url or config.worker.gateway
        args.conflate = args.conflate or config.worker.conflate
        entries = [StrategyConfig(e.path, e.symbols, e.params, e.name) for e in config.strategies]
        base = project.root
    else:
        base = None
    if args.strategy is not None:
        try:  # aapl means AAPL, as everywhere (engine.symbols)
            symbols = normalize_symbols(s for s in (args.symbols or "").split(",") if s.strip())
        except ValueError as exc:
            raise ConfigError(f"--symbols: {exc}") from None
        if not symbols:
            raise ConfigError("--symbols: name at least one ticker")
        try:
            params = json.loads(args.params)
        except ValueError as exc:
            raise ConfigError(f"--params is not JSON: {exc}") from None
        if not isinstance(params, dict):
            raise ConfigError("--params must be a JSON object")
        entries = [StrategyConfig(args.strategy, symbols, params, None)]
    if not url:
        raise ConfigError("--gateway URL is required (or worker.gateway in --config)")
    if not entries:
        raise ConfigError("no strategy: pass --strategy and --symbols, or --config with strategies")
    strategies = [load_strategy(e, base_dir=base) for e in entries]
    name = args.name or strategies[0].name.lower()
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"--name {name!r}: letters, digits, - and _ only")
    return url, name, strategies


async def _run(node: WorkerNode, duration: float | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def stop_now(signum: int, frame: object) -> None:
        # A Python-level handler, not loop.add_signal_handler: that one runs only once the
        # loop regains control, and a slow strategy working through a held backlog of
        # frames (all read in one callback) kept it for 21 s in a test. This one runs
        # between two bytecodes, so the rest of the backlog is skipped.
        node.stopping = True
        loop.call_soon_threadsafe(stop.set)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop_now)
    await node.start()
    print(f"tradewire worker {node.name}: connected ({', '.join(node.symbols)})", flush=True)
    waiter = asyncio.ensure_future(stop.wait())
    await asyncio.wait({waiter}, timeout=duration)
    waiter.cancel()
    await node.stop()
    print(_summary(node), flush=True)
    return 0


def _summary(node: WorkerNode) -> str:
    s = node.stats
    lat = sorted(s.latency_ns)
    p50: Any = f"{lat[len(lat) // 2] / 1000:,.1f} µs" if lat else "-"
    return (
        f"tradewire worker {node.name} summary: {s.frames:,} frames, {s.events:,} events, "
        f"{s.md_gaps} market gaps, {s.update_gaps} update gaps, {s.intents} intents "
        f"({s.resent} resent, {s.denied} denied), {s.fills} fills, dropped {s.dropped}; "
        + (f"{s.conflated:,} quotes conflated; " if node.conflate else "")
        + f"gateway→worker p50 {p50}"
    )
