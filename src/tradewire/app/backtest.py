"""``tradewire backtest``: a strategy on recorded data or Polygon flat files, on simulated time.

The composition root for :mod:`tradewire.backtest`: it loads the strategy and the risk
limits the way ``tradewire run`` does (same config, same loader), runs the backtest node
and writes ``report.json``, ``report.html``, ``equity.png`` and the journal to ``--out``.
Same data, config and seed give a byte-identical journal and the same ``digest``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradewire.backtest.broker import FILL_MODELS, BacktestBroker
from tradewire.backtest.data import iter_batches
from tradewire.backtest.latency import parse_latency_model
from tradewire.backtest.node import BacktestNode
from tradewire.backtest.report import figures
from tradewire.backtest.report.model import EquityPoint, FillRow, RunFacts, SymbolPnl
from tradewire.backtest.report.text import build_report, write_outputs
from tradewire.backtest.sanity import Skips
from tradewire.engine.config import RiskConfig
from tradewire.engine.journal.store import Journal
from tradewire.engine.loading import StrategyConfig, load_strategy
from tradewire.engine.symbols import normalize_symbols
from tradewire.errors import ConfigError, TradewireError

log = logging.getLogger("tradewire.backtest")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="recording, flat file or folder")
    parser.add_argument("--strategy", required=True, help="FILE.py:Class or package.module:Class")
    parser.add_argument(
        "--symbols", required=True, help="comma-separated tickers and pairs, e.g. AAPL,BTC/USD"
    )
    parser.add_argument("--params", default="{}", help="strategy params as a JSON object")
    parser.add_argument(
        "--config", type=Path, default=None, help="take risk limits from this config"
    )
    parser.add_argument("--start", default=None, help="first time: ISO 8601 (UTC) or Unix ns")
    parser.add_argument("--end", default=None, help="end time (exclusive), as --start")
    parser.add_argument("--cash", type=float, default=100_000.0, help="starting cash (100000)")
    parser.add_argument(
        "--latency-model",
        default="zero",
        help="zero | constant:US[,ORDER_US] | bench:FILE.json (a tradewire bench --json run)",
    )
    parser.add_argument("--fill-model", default="touch", choices=FILL_MODELS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample-s", type=float, default=1.0, help="equity sample interval")
    parser.add_argument("--out", type=Path, required=True, help="folder for the results")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--log-level", default="WARNING")


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        setup = _setup(args)
    except (ConfigError, TradewireError, ValueError, OSError) as exc:
        print(f"tradewire backtest: {exc}", file=sys.stderr)
        return 2
    try:
        report, written = _run(args, *setup)
    except TradewireError as exc:
        print(f"tradewire backtest: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tradewire backtest: interrupted", file=sys.stderr)
        return 130
    print(_summary(report, written))
    return 0


def _setup(args: argparse.Namespace) -> tuple[Any, list[str], RiskConfig, int | None, int | None]:
    try:  # aapl means AAPL: the recording names tickers as the feed does
        symbols = normalize_symbols(s for s in args.symbols.split(",") if s.strip())
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
    if not args.cash > 0 or not args.sample_s > 0:
        raise ConfigError("--cash and --sample-s must be > 0")
    if not args.data.exists():
        raise ConfigError(f"--data {args.data}: no such file or folder")
    parse_latency_model(args.latency_model)  # fail before any work
    strategy = load_strategy(StrategyConfig(args.strategy, symbols, params))
    risk = RiskConfig()
    if args.config is not None:
        from tradewire.app.config import load_config

        risk = load_config(args.config).risk
    args.out.mkdir(parents=True, exist_ok=True)
    return strategy, symbols, risk, _time(args.start, "--start"), _time(args.end, "--end")


def _time(text: str | None, name: str) -> int | None:
    if text is None:
        return None
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"{name} {text!r}: ISO 8601 (e.g. 2026-11-24T14:30:00) or Unix ns"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000_000)


def _run(
    args: argparse.Namespace,
    strategy: Any,
    symbols: list[str],
    risk: RiskConfig,
    start_ns: int | None,
    end_ns: int | None,
) -> tuple[dict[str, Any], list[Path]]:
    journal_path = args.out / "journal.twj"
    journal_path.unlink(missing_ok=True)  # a rerun into the same folder starts afresh
    journal = Journal(journal_path, fsync="never")

    def simulated_time() -> datetime:
        # The broker's book stamps its orders and fills with the node's simulated time (the
        # node is built below; the book asks only once the node runs).
        return datetime.fromtimestamp(node.now / 1e9, UTC)

    broker = BacktestBroker(
        fill_model=args.fill_model,
        seed=args.seed,
        starting_cash=Decimal(str(args.cash)),
        clock=simulated_time,
    )
    node = BacktestNode(
        [strategy],
        journal=journal,
        broker=broker,
        latency=parse_latency_model(args.latency_model),
        risk_config=risk,
        seed=args.seed,
        starting_cash=args.cash,
        sample_s=args.sample_s,
    )
    skips = Skips()
    batches = iter_batches(
        args.data, symbols=frozenset(symbols), start_ns=start_ns, end_ns=end_ns, skips=skips
    )
    progress = _Progress(enabled=not args.no_progress and sys.stderr.isatty())
    t0 = time.perf_counter()
    node.run(progress.wrap(batches, node))
    wall = time.perf_counter() - t0
    progress.close()
    journal.close()
    if (skipped := skips.line()) is not None:  # what the data held that no strategy saw
        print(f"tradewire backtest: {skipped}", file=sys.stderr)
    facts = _facts(args, node, wall)
    report = build_report(facts, journal_bytes=journal_path.read_bytes(), sample_s=args.sample_s)
    return report, write_outputs(report, facts, args.out)


def _facts(args: argparse.Namespace, node: BacktestNode, wall: float) -> RunFacts:
    cash = float(args.cash)
    equity = [
        EquityPoint(ts, cash + realized + unrealized, realized, unrealized, positions)
        for ts, realized, unrealized, positions in node.equity
    ]
    per_symbol = [
        SymbolPnl(p.symbol, p.qty, p.avg_price, p.mark, p.realized, p.unrealized)
        for p in sorted(node.book.positions.values(), key=lambda p: p.symbol)
    ]
    return RunFacts(
        events=node.events,
        batches=node.batches,
        wall_s=wall,
        orders=node.orders,
        denied=node.denied,
        canceled=node.canceled,
        rejected=node.rejected,
        fills=[FillRow(*f) for f in node.fills],
        equity=equity,
        per_symbol=per_symbol,
        starting_cash=cash,
        seed=args.seed,
        data=str(args.data),
        strategy=args.strategy,
        params=json.loads(args.params),
        latency_model=args.latency_model,
        fill_model=args.fill_model,
        start_ns=node.first_ns,
        end_ns=node.last_ns,
    )


class _Progress:
    """A progress line on long runs (a TTY only): events, simulated time, events/s."""

    def __init__(self, *, enabled: bool) -> None:
        self._enabled = enabled
        self._progress: Any = None

    def wrap(self, batches: Any, node: BacktestNode) -> Any:
        if not self._enabled:
            return batches
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn()
        )
        self._progress.start()
        task = self._progress.add_task("backtest", total=None)
        return self._counted(batches, node, task)

    def _counted(self, batches: Any, node: BacktestNode, task: Any) -> Any:
        t0 = time.perf_counter()
        for n, batch in enumerate(batches, 1):
            if not n & 0xFFFF:
                rate = node.events / max(time.perf_counter() - t0, 1e-9)
                at = datetime.fromtimestamp(node.now / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S")
                self._progress.update(
                    task, description=f"{node.events:,} events · {at} UTC · {rate:,.0f} ev/s"
                )
            yield batch

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def _summary(report: dict[str, Any], written: list[Path]) -> str:
    return "\n".join(
        [
            "tradewire backtest",
            f"  {report['events']:,} events in {report['batches']:,} frames, "
            f"{report['events_per_s']:,.0f} events/s",
            f"  orders {report['orders']:,}, fills {report['fills']:,}, denied {report['denied']:,},"
            f" canceled {report['canceled']:,}, rejected {report['rejected']:,}",
            *figures.text_lines(report),  # labelled, with units; a note where no number
            f"  digest {report['digest']}",
            *(f"  wrote {p}" for p in written),
        ]
    )
