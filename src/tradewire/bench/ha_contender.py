"""The ``tradewire-ha`` contender: the ``tradewire`` contender with its journal replicated
as an active failover gateway's is (issue 25), to measure what replication costs the hot path.

The same ``tradewire run`` with the same config, started as ``python -m
tradewire.bench.ha_contender run ...`` instead of ``python -m tradewire.app.cli run ...``.
The one difference is what :func:`tradewire.app.ha.run_group` gives an active term: a
:class:`~tradewire.live.ha.replication.JournalPublisher` started on the run's loop before
the node is built, and hooked to ``node.journal.on_frame`` (as ``build_node`` does with
``ha``), so every record the node journals is queued (one ``deque.append``) and published by
a background task to the group's JetStream stream on the nats-server named by
``$TRADEWIRE_BENCH_HA_NATS`` (the bench starts one, with JetStream, per run:
:func:`nats_server`). Nothing else of an active term (lease, fence, order gate, term ids)
is added: each would be a cost of its own, not the journal's replication.

At the end the publisher is flushed and its counts are printed and written beside the
journal (``<journal>.ha.json``): records journaled, published, pending, failures.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

from tradewire.bus.nats_server import NatsServer, find_nats_server
from tradewire.errors import TradewireError
from tradewire.live.ha.replication import JournalPublisher
from tradewire.live.node import TradingNode

NAME = "tradewire-ha"
MODULE = "tradewire.bench.ha_contender"
ENV = "TRADEWIRE_BENCH_HA_NATS"
GROUP = "bench"


def available() -> str | None:
    """Why the contender cannot run here (no nats-server binary), or None."""
    try:
        find_nats_server()
    except TradewireError as exc:
        return str(exc)
    return None


@contextlib.asynccontextmanager
async def nats_server() -> AsyncIterator[str]:
    """A nats-server with JetStream for one run; yields its URL."""
    server = NatsServer(jetstream=True)
    await server.start()
    try:
        yield server.url
    finally:
        await server.close()


def replicate(url: str) -> JournalPublisher:
    """Make this process's ``tradewire run`` replicate its journal to ``url`` as an active
    gateway does; returns the publisher (started when the run starts)."""
    from tradewire.app import lifecycle, wiring

    publisher = JournalPublisher(url, GROUP)
    build_node, run = wiring.build_node, lifecycle._run  # lifecycle's build_node is wiring's
    nodes: list[TradingNode] = []

    def build_replicated(*args: Any, **kwargs: Any) -> TradingNode:
        node = build_node(*args, **kwargs)
        node.journal.on_frame = publisher.on_frame  # wiring.build_node's line for ``ha``
        nodes.append(node)
        return node

    async def run_replicated(*args: Any, **kwargs: Any) -> int:
        await publisher.start()  # as run_group does, before the term's _run
        try:
            return await run(*args, **kwargs)
        finally:
            flushed = await publisher.flush(10.0)
            await publisher.stop()
            if nodes:
                _report(nodes[0], publisher, flushed)

    lifecycle.build_node = build_replicated  # type: ignore[attr-defined]
    lifecycle._run = run_replicated
    return publisher


def _report(node: TradingNode, publisher: JournalPublisher, flushed: bool) -> None:
    counts = {
        "journaled": node.journal.records_written,
        "published": publisher.published,
        "pending": publisher.pending,
        "failures": publisher.failures,
        "retries": publisher.retries,
        "duplicates": publisher.duplicates,
        "flushed": flushed,
    }
    path = node.journal.path.with_suffix(".ha.json")
    path.write_text(json.dumps(counts), encoding="utf-8")
    print(f"{NAME}: {json.dumps(counts)}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    url = os.environ.get(ENV, "").strip()
    if not url:
        print(f"{NAME}: set ${ENV} to a nats-server with JetStream", file=sys.stderr)
        return 2
    replicate(url)
    from tradewire.app.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
