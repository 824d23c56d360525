"""A failover group of gateways (issue 25): one active, the others standbys.

Every gateway of a group runs this loop. As a standby it holds no venue connection (Massive
evicts an older connection to a cluster: a standby that connected would kill the active's
feed) and follows the active's journal from the group's JetStream stream into a local file
(:class:`~tradewire.live.ha.replication.JournalMirror`). When it wins the lease
(:class:`~tradewire.live.ha.keeper.LeaseKeeper`: compare-and-set on a JetStream key-value
revision) it first applies everything the stream holds, then runs the ordinary gateway
(:func:`tradewire.app.lifecycle._run`) on that file: the node replays it through the ledger,
reconciles with the broker (which also finds orders the old active sent and never
replicated), connects the feed and the trade stream, and trades, its client_order_ids
carrying the new term, every record it journals published to the stream
(:class:`~tradewire.live.ha.replication.JournalPublisher`, off the hot path).

Fencing: while active, a watcher halts the broker client's order sending the moment the
lease may no longer be renewed in time (``may_send`` false: ``lease_s - margin_s`` after the
last successful renewal began, on this process's monotonic clock), before any standby can
take the lease (it waits ``lease_s + margin_s`` of an unchanged revision on its own clock),
and steps down: the node stops without cancelling anything (the orders are the group's, the
next active owns them) and the loop becomes a standby again.

Metrics: ``tradewire_gateway_active`` (1/0) and ``tradewire_gateway_term`` on the process's
one ``/metrics``, standby or active.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nats.aio.client import Client

from tradewire.app.buses import NatsLogin
from tradewire.app.config import AppConfig, HaConfig
from tradewire.errors import TradewireError
from tradewire.live.ha.keeper import LeaseKeeper
from tradewire.live.ha.replication import JournalMirror, JournalPublisher
from tradewire.live.node import TradingNode
from tradewire.metrics.recorder import Recorder

log = logging.getLogger("tradewire.ha")

FENCE_CHECK_S = 0.02  # how often the active asks whether it may still send
CATCH_UP_S = 30.0  # a new active waits at most this long for the stream's last records


@dataclass(slots=True)
class HaTerm:
    """What one active term gives the gateway it runs: its term, the journal the mirror
    filled, the publisher's hook, the fence, and the process's one recorder."""

    term: int
    journal: Path
    on_frame: Callable[[bytes], None]
    may_send: Callable[[], bool]
    recorder: Recorder
    stepped_down: bool = False
    fence_task: asyncio.Task[None] | None = field(default=None, repr=False)
    node: TradingNode | None = field(default=None, repr=False)  # once started: kills reach it


async def connect(url: str, login: NatsLogin, name: str) -> Client:
    """A NATS connection for the lease and the journal, reconnecting for ever."""
    auth: dict[str, Any] = {}
    if login.user is not None:
        auth["user"], auth["password"] = login.user, login.password
    if login.nkey_seed_file is not None:
        auth["nkeys_seed"] = str(login.nkey_seed_file)
    nc = Client()
    try:
        await asyncio.wait_for(
            nc.connect(
                url,
                name=name,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=1,
                **auth,
            ),
            timeout=10,
        )
    except (TimeoutError, OSError, Exception) as exc:  # nats-py raises its own kinds
        with contextlib.suppress(Exception):
            await nc.close()
        raise TradewireError(f"failover: NATS {url}: {type(exc).__name__}: {exc}") from None
    return nc


def kill_subject(group: str) -> str:
    """Where ``tradewire kill --group`` asks; only the active gateway answers. nats-server's
    permissions keep workers off it (they publish only on their own subjects)."""
    return f"tw.ha.{group}.kill"


def holder_name(ha: HaConfig) -> str:
    return ha.holder or f"{socket.gethostname()}-{os.getpid()}"


def publish_state(recorder: Recorder, active: bool, term: int) -> None:
    recorder.gauges["tradewire_gateway_active"] = 1.0 if active else 0.0
    recorder.gauges["tradewire_gateway_term"] = float(term)


async def fence(term: HaTerm, halt: Callable[[str], object], stop: Callable[[str], None]) -> None:
    """The active's fence: halt sending and stop the node once ``may_send`` says no (polled:
    the answer changes with time alone, when no renewal succeeded)."""
    while True:
        if not term.may_send():
            break
        await asyncio.sleep(FENCE_CHECK_S)
    term.stepped_down = True
    why = "lost the failover lease: stepping down to standby"
    halt(why)  # first: no order leaves from here, whatever the stop does next
    log.error("gateway: %s", why)
    stop(why)


async def run_group(
    config: AppConfig,
    login: NatsLogin,
    run_active: Callable[[HaTerm], Awaitable[int]],
    stopping: asyncio.Event,
    recorder: Recorder,
) -> int:
    """Standby, then active, then standby again after a step-down, until ``stopping``."""
    ha = config.gateway.ha
    assert ha is not None
    assert config.gateway.nats is not None
    url = ha.nats or config.gateway.nats.url
    holder = holder_name(ha)
    nc = await connect(url, login, f"tradewire-ha-{holder}")
    changed = asyncio.Event()

    def on_change(active: bool, term: int) -> None:
        publish_state(recorder, active, term)
        state = f"active (term {term})" if active else "standby"
        print(f"gateway {ha.group}: {state}", flush=True)  # one line at each change
        changed.set()

    keeper = LeaseKeeper(nc, ha.group, holder, ha.lease_s, ha.margin, on_change=on_change)
    publish_state(recorder, False, 0)
    current: list[HaTerm] = []

    async def on_kill(msg: Any) -> None:
        term = current[0] if current else None
        if term is None or term.node is None or not keeper.active:
            return  # a standby stays silent: the active answers
        try:
            request = json.loads(msg.data or b"{}")
            reason = str(request.get("reason") or "operator kill via the failover group")
            flatten = bool(request.get("flatten", False))
        except (ValueError, AttributeError):
            await msg.respond(b'{"error": "not a JSON kill request"}')
            return
        result = await term.node.kill(reason, flatten=flatten)
        await msg.respond(json.dumps({**result, "term": term.term}, default=str).encode())

    await nc.subscribe(kill_subject(ha.group), cb=on_kill)
    await keeper.start()
    code = 0
    phase = 0
    try:
        while not stopping.is_set():
            phase += 1
            path = config.journal.path / f"ha-{ha.group}-{holder}-{phase}.twj"
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # a mirror is rebuilt from the stream, never reused
            mirror = JournalMirror(nc, ha.group, path)
            await mirror.start()
            log.info("gateway %s: standby, following the journal into %s", ha.group, path)
            if phase == 1 and not keeper.active:  # later phases: on_change said it
                print(f"gateway {ha.group}: standby", flush=True)  # ready to take over
            while not keeper.active and not stopping.is_set():
                changed.clear()
                waiter = asyncio.ensure_future(changed.wait())
                stop_waiter = asyncio.ensure_future(stopping.wait())
                await asyncio.wait({waiter, stop_waiter}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                stop_waiter.cancel()
            if stopping.is_set():
                await mirror.stop()
                break
            started = time.monotonic()
            if not await mirror.caught_up(CATCH_UP_S):
                log.error(
                    "gateway %s: the journal stream did not catch up; trading anyway "
                    "after reconciliation with the broker",
                    ha.group,
                )
            await mirror.stop()
            log.info(
                "gateway %s: took over as term %d (%d records mirrored, %.0f ms)",
                ha.group,
                keeper.term,
                mirror.mirrored,
                (time.monotonic() - started) * 1e3,
            )
            publisher = JournalPublisher(nc, ha.group, max_age_s=ha.journal_max_age_s)
            await publisher.start()
            term = HaTerm(keeper.term, path, publisher.on_frame, keeper.may_send, recorder)
            current[:] = [term]
            try:
                code = await run_active(term)
            finally:
                current.clear()
                await publisher.flush(5.0)
                await publisher.stop()
            if not term.stepped_down:
                break  # stopped (Ctrl-C, duration, an error): the process ends
            publish_state(recorder, keeper.active, keeper.term)
    finally:
        await keeper.stop()
        with contextlib.suppress(Exception):
            await nc.close()
    return code
