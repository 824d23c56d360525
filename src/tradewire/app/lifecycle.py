"""One engine process, start to summary: what ``tradewire run`` and ``tradewire gateway`` run.

The config is read and checked (a gateway's NATS too) before anything starts; then the venues,
the node and what serves it are built (:mod:`tradewire.app.wiring`), trading goes on until the
duration or Ctrl-C, the stop cancels what it must, and the summary is printed. ``run`` and
``gateway`` are this with ``gateway`` false or true; they import this module, not each other.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tradewire.app.buses import NatsLogin, gateway_nats_login
from tradewire.app.config import AppConfig, load_config, read_credentials, resolve_mode
from tradewire.app.control import ControlServer, resolve_control_token
from tradewire.app.ha import HaTerm, fence, run_group
from tradewire.app.multi import build_accounts
from tradewire.app.panel import Panel, summary
from tradewire.app.paths import locate_config
from tradewire.app.strategy_log import show_strategy_logs
from tradewire.app.wiring import (
    build_control,
    build_exporter,
    build_node,
    embedded_nats,
    nats_start_problem,
    open_venues,
    start_gateway,
    tune_process,
    tune_started,
    tuning_report,
    with_nats_server,
)
from tradewire.bus.nats_server import NatsServer
from tradewire.cliargs import non_negative
from tradewire.engine.loading import StrategyConfig, load_strategy
from tradewire.errors import ConfigError, JournalCorrupt, TradewireError
from tradewire.live.gateway import Gateway
from tradewire.live.node import TradingNode
from tradewire.live.timers import Every
from tradewire.metrics.exporter import MetricsExporter
from tradewire.metrics.recorder import Recorder
from tradewire.tuning.busy_poll import BusyPoller

log = logging.getLogger("tradewire.run")

INTERRUPTED_AT_START = "tradewire run: Ctrl-C: stopped during start-up, before trading"


def add_options(parser: argparse.ArgumentParser) -> None:
    """The options ``tradewire run`` takes; ``tradewire gateway`` takes them too."""
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="YAML config (default: $TRADEWIRE_CONFIG, else ./config/trading_apis.yaml); "
        "relative paths in it are the project's",
    )
    parser.add_argument(
        "--duration",
        type=non_negative,
        default=None,
        help="stop after S seconds (0 or none: run until Ctrl-C, as for tradewire sim)",
    )
    parser.add_argument(
        "--no-panel", action="store_true", help="plain log lines instead of the live panel"
    )
    parser.add_argument(
        "--journal", type=Path, default=None, help="journal file (overrides the config)"
    )
    parser.add_argument(
        "--metrics-port", type=int, default=None, help="Prometheus port (overrides the config)"
    )
    parser.add_argument(
        "--control-port", type=int, default=None, help="kill-switch port (overrides the config)"
    )
    parser.add_argument(
        "--sim-feed-url", default=None, help="use an already running `tradewire sim`: its feed URL"
    )
    parser.add_argument(
        "--sim-broker-url",
        default=None,
        help="use an already running `tradewire sim`: its broker URL",
    )
    parser.add_argument(
        "--sim-rest-url",
        default=None,
        help="use an already running `tradewire sim`: its Massive REST URL (option chains)",
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        default=None,
        help="dotenv file with keys (default: .env in the config's project)",
    )
    parser.add_argument(
        "--report-json",
        type=Path,
        default=None,
        help="on exit, write the summary and every latency stage's percentiles here",
    )
    parser.add_argument("--log-level", default="WARNING")


def main(args: argparse.Namespace, *, gateway: bool) -> int:
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    prog = "tradewire gateway" if gateway else "tradewire run"
    try:
        project = locate_config(args.config)
        config = load_config(project.config)
        # Relative paths written in the config are the project's, not the working folder's.
        config = config.model_copy(
            update={
                "journal": config.journal.model_copy(
                    update={"path": project.resolve(config.journal.path)}
                )
            }
        )
        creds = read_credentials(dotenv=args.env_file or project.root / ".env")
        mode = resolve_mode(config, creds)
        strategies = [
            load_strategy(
                StrategyConfig(e.path, e.symbols, e.params, e.name),
                base_dir=project.root,
                search_cwd=False,
            )
            for e in config.strategies
        ]
        if gateway and not config.gateway.urls():
            raise ConfigError(
                f"{project.config}: the gateway serves no bus: set gateway.shm and/or gateway.nats"
            )
        nats = config.gateway.nats if gateway else None
        embedded: NatsServer | None = None
        if nats is not None:
            gateway_nats_login(nats, os.environ)  # no credentials: refused now
            if nats.embedded:
                embedded = embedded_nats(nats, os.environ)
        if not strategies and not gateway:
            raise ConfigError(
                f"{project.config}: no strategies configured: add one under 'strategies:'"
            )
    except ConfigError as exc:
        # One line per problem, as the README promises: "configuration error: FILE: key: why".
        print(f"{prog}: configuration error: {exc}", file=sys.stderr)
        return 2
    except TradewireError as exc:  # the embedded nats-server's binary is missing
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    problem = nats_start_problem(nats, embedded) if nats is not None else None
    if problem is not None:  # before the simulator, the journal and the node: nothing to undo
        print(f"{prog}: {problem}", file=sys.stderr)
        return 1
    if gateway and config.gateway.ha is not None:
        problem = problem or ha_problem(config, mode, args)
        if problem is not None:
            print(f"{prog}: {problem}", file=sys.stderr)
            return 2
    try:
        import uvloop

        if gateway and config.gateway.ha is not None:
            assert nats is not None
            login = gateway_nats_login(nats, os.environ)
            run = run_failover(config, creds, mode, args, login)
        else:
            run = _run(config, creds, mode, strategies, args, gateway=gateway)
        return uvloop.run(with_nats_server(embedded, run, prog))
    except KeyboardInterrupt:
        # Ctrl-C before the engine's own signal handlers were in place (the simulator still
        # starting): Python's default handling ends the loop. A bare "^C" and exit 130 left
        # the user guessing whether anything had been traded.
        print(INTERRUPTED_AT_START, file=sys.stderr, flush=True)
        return 130


async def _run(
    config: AppConfig,
    creds: Any,
    mode: str,
    strategies: list[Any],
    args: argparse.Namespace,
    *,
    gateway: bool = False,
    ha: HaTerm | None = None,
) -> int:
    """One engine run; ``ha``: one active term of a failover group (:mod:`tradewire.app.ha`)."""
    # 0 means "until Ctrl-C" here as for `tradewire sim` (it used to stop at once).
    duration = (args.duration if args.duration is not None else config.run.duration_s) or None
    prog = "tradewire gateway" if gateway else "tradewire run"
    venues, journal, sim = await open_venues(config, creds, mode, args)
    if ha is not None:
        journal = ha.journal  # the mirror of the group's journal, now this term's own
    tuning = config.tuning
    plan, outcomes = tune_process(tuning, sim)
    try:
        if config.accounts and ha is None:  # one engine per account, one feed
            accounts = build_accounts(config, creds, mode, venues, strategies, journal, plan)
        else:
            accounts = {"main": build_node(config, mode, venues, strategies, journal, plan, ha=ha)}
        node, *extra = accounts.values()
        others = dict(zip(list(accounts)[1:], extra, strict=True))
    except ConfigError as exc:  # an account's key pair missing
        if sim is not None:
            await sim.stop()
        print(f"{prog}: configuration error: {exc}", file=sys.stderr)
        return 2
    except (OSError, TradewireError) as exc:
        # The simulator child must not outlive a node that could not be built.
        if sim is not None:
            await sim.stop()
        print(f"{prog}: cannot open the journal {journal}: {exc}", file=sys.stderr)
        return 2
    exporter: MetricsExporter | None = None
    extra_exporters: list[MetricsExporter] = []
    control: ControlServer | None = None
    gw: Gateway | None = None
    panel = Panel(live=None if not args.no_panel and config.run.panel else False)
    pane = show_strategy_logs(pane=panel.is_live, stream=sys.stdout)
    if pane is not None:
        panel.log = pane.lines
    stop = asyncio.Event()
    ending = ["stopped"]  # how the run ended, for the summary: set by what stops it
    poller = BusyPoller()
    warmer: Every | None = None
    code = 0
    started = False  # a start-up cut short cancels nothing it did not see
    trading = False  # the whole start-up done: only then is there a run to summarise
    try:
        # What can refuse the start is checked before the node starts: a refusal found
        # after it printed a trading summary ("final state ACTIVE") of a run that never was.
        token = (
            resolve_control_token(config.control.token_env, journal.parent / "control.token")
            if config.control.enabled
            else ""
        )
        node.install_signal_handlers(stop.set)
        stop_by = _name_the_stop(stop, ending)
        if ha is not None:  # from here, no order leaves once the lease may have lapsed
            ha.fence_task = asyncio.ensure_future(fence(ha, node.broker.halt_orders, stop_by))
        # Start-up waits on the network (feed handshake, broker recovery): Ctrl-C and
        # SIGTERM must end it there too, not only once trading has begun.
        starting = asyncio.ensure_future(node.start())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, TradewireError):
                await starting
            print(f"{prog}: stopped during start-up", file=sys.stderr)
            return 130
        starting.result()
        for other in others.values():  # the other accounts, behind the first's feed
            await other.start()
        started = True
        if ha is not None:
            ha.node = node  # a group's kill reaches the active gateway from here
        if tuning.enabled:
            warmer = tune_started(tuning, node, poller, outcomes)
        print(tuning_report(tuning.enabled, outcomes), flush=True)
        if gateway:
            gw = await start_gateway(node, config.gateway)
        if config.metrics.enabled and ha is None:  # a group's process serves one /metrics
            port = args.metrics_port if args.metrics_port is not None else config.metrics.port
            cpus = plan.housekeeping if tuning.enabled else None
            exporter = build_exporter(config.metrics, node, port, cpus)
        for name, other in others.items():  # each account's own figures
            if config.metrics.enabled and (x := build_exporter(config.metrics, other, 0, None)):
                extra_exporters.append(x)
                print(f"{prog}: metrics of account {name}: {x.url}", flush=True)
        if config.control.enabled:
            port = args.control_port if args.control_port is not None else config.control.port
            control = await build_control(config, node, gw, mode, port, token, others)
        print(
            f"tradewire run: {mode} mode, feed {venues.feed_url}, broker {venues.broker_url}, journal {journal}"
            + (f", metrics {exporter.url}" if exporter else "")
            + (
                f", kill switch http://{config.control.host}:{control.port}/kill" if control else ""
            ),
            flush=True,
        )
        trading = True
        panel.start()
        node.every(config.run.panel_refresh_s, lambda: panel.update(node.snapshot()))
        waiter = asyncio.ensure_future(stop.wait())
        await asyncio.wait({waiter}, timeout=duration)
        if not waiter.done():
            ending[0] = f"stopped at the end of its duration ({duration:g}s)"
        waiter.cancel()
    except (JournalCorrupt, ConfigError) as exc:
        # Bad input found at start-up (recovery reads the journal): nothing was traded.
        print(f"{prog}: {exc}", file=sys.stderr)
        code = 2
    except TradewireError as exc:
        kind = "" if type(exc) is TradewireError else f"{type(exc).__name__}: "  # a named cause
        print(f"{prog}: {kind}{exc}", file=sys.stderr)
        ending[0] = f"stopped by an error: {kind}{exc}"
        code = 1
    finally:
        poller.stop()
        if warmer is not None:
            warmer.cancel()
        outcome = None
        if gw is not None:
            await gw.stop()
        if ha is not None and ha.fence_task is not None:
            ha.fence_task.cancel()
        stepped_down = ha is not None and ha.stepped_down  # the group's orders stay working
        for name, other in others.items():
            try:
                done = await other.stop(
                    cancel_open_orders=config.run.cancel_open_orders_on_stop and started
                )
            except Exception as exc:
                log.exception("stopping account %s failed", name)
                print(f"{prog}: account {name}: stop failed: {exc}", file=sys.stderr)
                code = code or 1
            else:
                if done is not None and not done.ok:
                    print(
                        f"{prog}: account {name}: stopped with orders still live at the "
                        f"broker: {done.describe()}",
                        file=sys.stderr,
                    )
                    code = code or 3
        for x in extra_exporters:
            x.stop()
        try:
            outcome = await node.stop(
                cancel_open_orders=config.run.cancel_open_orders_on_stop
                and started
                and not stepped_down
            )
        except Exception as exc:
            log.exception("stopping the node failed")
            print(f"{prog}: stop failed: {exc}", file=sys.stderr)
            code = code or 1
        if outcome is not None and not outcome.ok:
            print(
                f"{prog}: stopped with orders still live at the broker: {outcome.describe()}",
                file=sys.stderr,
            )
            code = code or 3
        if control is not None:
            await control.stop()
        if exporter is not None:
            exporter.stop()
        if sim is not None:
            await sim.stop()
    if not trading:
        panel.stop()
        _drop_if_empty(journal)
        return code  # the start-up failed and said why; there is nothing to summarise
    # The panel's last frame and the summary are one snapshot, taken after the stop's
    # cancels and flatten: they cannot disagree.
    snapshot = node.snapshot()
    snapshot.ended = ending[0]
    panel.update(snapshot)
    panel.stop()
    print(summary(snapshot, prog=prog), flush=True)
    for name, other in others.items():
        account_snapshot = other.snapshot()
        account_snapshot.ended = ending[0]
        print(summary(account_snapshot, prog=f"{prog} [account {name}]"), flush=True)
    if snapshot.unverified_orders:
        # The numbers above are the engine's, not confirmed by the broker: say so, and fail.
        print(
            f"{prog}: {snapshot.unverified_orders} open orders not verified at the broker "
            "when the stop's reconciliation bound was spent",
            file=sys.stderr,
        )
        code = code or 5
    if snapshot.stopped_strategies:
        for name, why in snapshot.stopped_strategies.items():
            print(f"{prog}: strategy {name} {why}", file=sys.stderr)
        code = code or 4
    if args.report_json is not None:
        _write_report(args.report_json, node, snapshot)
    return code


def _name_the_stop(stop: asyncio.Event, ending: list[str]) -> Callable[[str], None]:
    """Ctrl-C and SIGTERM stop the run as the node's handlers do, and name themselves for the
    summary ("stopped (Ctrl-C)"): a summary that said "final state ACTIVE" after a Ctrl-C
    read as if the run were still trading."""
    loop = asyncio.get_running_loop()

    def stop_by(why: str) -> None:
        if not stop.is_set():
            ending[0] = why
        stop.set()

    loop.add_signal_handler(signal.SIGINT, stop_by, "stopped (Ctrl-C)")
    loop.add_signal_handler(signal.SIGTERM, stop_by, "stopped (SIGTERM)")
    return stop_by


def _drop_if_empty(journal: Path) -> None:
    """A start-up that failed before anything was written leaves no empty journal behind
    (a journal with records, recovered from an earlier run, stays as it is)."""
    from tradewire.engine.journal import read_journal

    try:
        empty = not read_journal(journal).records
    except (OSError, TradewireError):
        return
    if empty:
        journal.unlink(missing_ok=True)


def _write_report(path: Path, node: TradingNode, snapshot: Any) -> None:
    stages = {name: st.summary_us() for name, st in node.recorder.stages.items() if st.count}
    report = {
        "summary": dataclasses.asdict(snapshot),
        "stages_us": stages,
        # What the engine believes at exit, to compare with the broker's own view.
        "positions": {
            p.symbol: {"qty": p.qty, "avg_price": p.avg_price}
            for p in sorted(node.book.positions.values(), key=lambda p: p.symbol)
            if p.qty
        },
        "open_orders": sorted(c for c, x in node.oms.orders.items() if x.is_open),
        "reconcile_corrections": dict(node.counters.reconcile_corrections),
        "unverified_orders": node.reconciler.unverified,
        "refused_events": node.counters.refused_events,
        "strategy_errors": dict(node.counters.strategy_errors),
        # Which order path ran, and how many orders the native one sent (issue 26).
        "order_path": "native" if node.core.native is not None else "python",
        "native_orders": node.core.native.sent if node.core.native is not None else 0,
        "native_denied": node.core.native.denied if node.core.native is not None else 0,
    }
    path.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")


def ha_problem(config: AppConfig, mode: str, args: argparse.Namespace) -> str | None:
    """Why this config cannot run as a failover group, in one line (None: it can)."""
    if mode == "sim" and not (args.sim_feed_url and args.sim_broker_url):
        return (
            "gateway.ha: a failover group trades one venue: give the simulator's URLs "
            "(--sim-feed-url, --sim-broker-url) or keys, not an embedded simulator per gateway"
        )
    return None


async def run_failover(
    config: AppConfig, creds: Any, mode: str, args: argparse.Namespace, login: NatsLogin
) -> int:
    """``tradewire gateway`` in a failover group: standby until this process holds the lease,
    then the gateway of :func:`_run` for the term, standby again after a step-down."""
    project = locate_config(args.config)
    recorder = Recorder()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    exporter: MetricsExporter | None = None
    if config.metrics.enabled:
        port = args.metrics_port if args.metrics_port is not None else config.metrics.port
        exporter = MetricsExporter(recorder, host=config.metrics.host, port=port)
        try:
            exporter.start()
            print(f"tradewire gateway: metrics {exporter.url}", flush=True)
        except OSError as exc:
            log.warning("metrics endpoint not started: %s", exc)
            exporter = None

    async def active(term: HaTerm) -> int:
        strategies = [  # fresh instances every term: no state carried from a stepped-down one
            load_strategy(
                StrategyConfig(e.path, e.symbols, e.params, e.name),
                base_dir=project.root,
                search_cwd=False,
            )
            for e in config.strategies
        ]
        code = await _run(config, creds, mode, strategies, args, gateway=True, ha=term)
        if stopping.is_set():
            return code
        for sig in (signal.SIGINT, signal.SIGTERM):  # _run took them over: the group's again
            loop.add_signal_handler(sig, stopping.set)
        return code

    try:
        return await run_group(config, login, active, stopping, recorder)
    except TradewireError as exc:
        print(f"tradewire gateway: {exc}", file=sys.stderr)
        return 1
    finally:
        if exporter is not None:
            exporter.stop()
