"""The :class:`~tradewire.bus.base.Bus` over NATS (nats-py), for workers on other machines.

``publish`` is synchronous for the gateway's hot path. nats-py's ``publish`` is a coroutine,
and awaiting it (≈15 µs per 1 KB frame) or wrapping it in a task (≈17 µs, and one loop turn
later) costs far more than what it does when connected: append the ``PUB`` bytes to the
client's pending list and kick its flusher task. We do exactly that (≈2 µs), with the limit
checked first so a full buffer drops instead of waiting — see :meth:`NatsBus.publish`. The
fields used (``_pending``, ``_pending_data_size``, ``_flush_queue``) are checked at
``start()``; if a nats-py release renames them the bus falls back to a task per message.

While the connection is down nats-py keeps queueing into the same pending list, so frames
published during a reconnect go out after it, up to ``pending_bytes_limit``; beyond that they
are dropped and counted. Reconnects never stop and back off with full jitter
(:func:`tradewire.net.backoff.backoff`), reset after each success.

Secrets (the token, the password, the nkey seed, credentials in the URL) never reach a repr, a log line or
an exception message: only the URL's host and port and the kind of auth are ever shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from nats.aio.client import Client, Server
from nats.aio.msg import Msg
from nats.errors import AuthorizationError, SlowConsumerError

from tradewire.bus.base import Handler
from tradewire.errors import TradewireError
from tradewire.net.backoff import backoff

log = logging.getLogger(__name__)

MiB = 1024 * 1024
_BAD_SUBJECT = re.compile(r"[\s\x00]")


def redact_url(url: str) -> str:
    """``nats://user:secret@host:4222`` → ``nats://host:4222``: safe to log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme or 'nats'}://{host}{port}"


class NatsBus:
    """One process's connection to NATS; see the module docstring for the trade-offs."""

    def __init__(
        self,
        url: str,
        *,
        name: str,
        token: str | None = None,
        user: str | None = None,
        password: str | None = None,
        nkey_seed_file: Path | None = None,
        pending_bytes_limit: int = 64 * MiB,
        reconnect: bool = True,
        sub_pending_msgs_limit: int = 65_536,
        sub_pending_bytes_limit: int = 64 * MiB,
        connect_timeout_s: float = 5.0,
    ) -> None:
        """Nothing connects until :meth:`start`; subscriptions made before it are kept.

        ``user`` with ``password`` is a nats-server user (tradewire gives each worker its
        own: :mod:`tradewire.bus.nats_auth`); a token or an nkey seed file are the others.
        """
        if sum((token is not None, password is not None, nkey_seed_file is not None)) > 1:
            raise TradewireError("NatsBus takes a token, a password or an nkey seed file, one")
        if (user is None) != (password is None):
            raise TradewireError("NatsBus takes a user and a password together")
        self._url = url
        self.display_url = redact_url(url)
        self.name = name
        self._token = token
        self._user = user
        self._password = password
        self._nkey_seed_file = nkey_seed_file
        self._limit = pending_bytes_limit
        self._reconnect = reconnect
        self._sub_msgs = sub_pending_msgs_limit
        self._sub_bytes = sub_pending_bytes_limit
        self._connect_timeout_s = connect_timeout_s
        self.on_disconnect: Callable[[], None] | None = None
        """Called on the loop when the connection drops (not on our own close)."""
        self.on_reconnect: Callable[[], None] | None = None
        """Called on the loop once a reconnect has replayed the subscriptions: resync here."""
        self._nc: Client | None = None
        self._closed = False
        self._direct = False
        self._prefixes: dict[str, bytes] = {}
        self._subs: list[tuple[str, Handler]] = []
        self._sub_tasks: set[asyncio.Task[Any]] = set()
        self._publish_drops = 0
        self._slow_drops = 0
        self._delays: Iterator[float] = backoff(initial_s=0.05, max_s=5.0)
        self._auth_refused: asyncio.Event | None = None
        self._last_error = ""

    def __repr__(self) -> str:
        auth = "token" if self._token else "nkey" if self._nkey_seed_file else None
        auth = f"user {self._user}" if self._user else auth
        state = "closed" if self._closed else "connected" if self.connected else "not connected"
        return f"NatsBus(url={self.display_url!r}, name={self.name!r}, auth={auth!r}, {state})"

    @property
    def connected(self) -> bool:
        """Whether the client is connected right now (False while reconnecting)."""
        return self._nc is not None and self._nc.is_connected

    @property
    def dropped(self) -> int:
        """Frames dropped here: our publish buffer was full, or a subscription's was."""
        return self._publish_drops + self._slow_drops

    @property
    def dropped_by_worker(self) -> Mapping[str, int]:
        return {}  # a subject's receivers are the server's to count, not ours

    @property
    def sender(self) -> str | None:
        return None  # the subject, fenced by the server's permissions, names the worker

    @property
    def slow_consumer_drops(self) -> int:
        """Incoming messages discarded because a handler fell behind its pending limit."""
        return self._slow_drops

    async def start(self) -> None:
        """Connect within ``connect_timeout_s``; a refused credential fails at once."""
        if self._closed:
            raise TradewireError(f"NatsBus {self.name!r} is closed; make a new one")
        if self._nc is not None:
            return
        nc = Client()
        self._auth_refused = asyncio.Event()
        auth: dict[str, Any] = {}
        if self._token is not None:
            auth["token"] = self._token
        if self._user is not None:
            auth["user"], auth["password"] = self._user, self._password
        if self._nkey_seed_file is not None:
            auth["nkeys_seed"] = str(self._nkey_seed_file)
        connecting = asyncio.ensure_future(
            nc.connect(
                self._url,
                name=self.name,
                error_cb=self._on_error,
                disconnected_cb=self._on_disconnected,
                reconnected_cb=self._on_reconnected,
                allow_reconnect=self._reconnect,
                max_reconnect_attempts=-1 if self._reconnect else 0,
                reconnect_to_server_handler=self._next_server,
                pending_size=self._limit,
                **auth,
            )
        )
        refused = asyncio.ensure_future(self._auth_refused.wait())
        done, _ = await asyncio.wait(
            {connecting, refused}, timeout=self._connect_timeout_s, return_when="FIRST_COMPLETED"
        )
        refused.cancel()
        if connecting in done and connecting.exception() is None:
            self._nc = nc
        else:
            connecting.cancel()
            await asyncio.wait({connecting})  # let it unwind; its error is reported below
            with contextlib.suppress(Exception):
                await nc.close()
            if self._auth_refused.is_set():
                why = "the server refused our credentials (authorization violation)"
            else:
                why = f"no connection within {self._connect_timeout_s:g} s"
                if self._last_error:
                    why += f" (last error: {self._last_error})"
            raise TradewireError(f"NATS {self.display_url} as {self.name!r}: {why}")
        self._direct = isinstance(getattr(nc, "_pending", None), list) and isinstance(
            getattr(nc, "_flush_queue", None), asyncio.Queue
        )
        if not self._direct:
            log.warning("nats-py internals changed; publishing through a task per message")
        for subject, handler in self._subs:
            await self._subscribe(subject, handler)
        log.info("NATS %s connected as %r", self.display_url, self.name)

    async def flush(self, timeout_s: int = 5) -> None:
        """Wait until every subscribe and publish so far has reached the server (a PING/PONG)."""
        if self._nc is None or self._closed:
            return
        if self._sub_tasks:
            await asyncio.gather(*self._sub_tasks)
        await self._nc.flush(timeout=timeout_s)

    async def close(self) -> None:
        """Flush what is queued and disconnect; idempotent."""
        if self._closed:
            return
        self._closed = True
        nc, self._nc = self._nc, None
        for task in self._sub_tasks:
            task.cancel()
        if nc is not None:
            try:
                await asyncio.wait_for(nc.close(), self._connect_timeout_s)
            except (TimeoutError, Exception) as e:
                log.warning("NATS %s close: %s", self.display_url, type(e).__name__)
        log.info("NATS %s closed (%d dropped)", self.display_url, self.dropped)

    def publish(self, subject: str, payload: bytes) -> None:
        """Queue ``payload`` for the flusher task; drop and count when the buffer is full."""
        nc = self._nc
        if nc is None and not self._closed:
            raise TradewireError("NatsBus.publish before start()")
        if nc is None or nc.is_closed or nc.is_draining:
            self._publish_drops += 1  # shutting down: the frame has nowhere to go
            return
        prefix = self._prefixes.get(subject)
        if prefix is None:
            if not subject or _BAD_SUBJECT.search(subject) or "*" in subject or ">" in subject:
                raise TradewireError(f"not a NATS subject to publish on: {subject!r}")
            prefix = self._prefixes[subject] = f"PUB {subject} ".encode()
        n = len(payload)
        if n > nc.max_payload:
            raise TradewireError(f"{n}-byte payload exceeds the server's max_payload")
        if nc._pending_data_size + n + len(prefix) + 16 > self._limit:
            self._publish_drops += 1
            return
        if not self._direct:
            task = asyncio.get_running_loop().create_task(nc.publish(subject, payload))
            task.add_done_callback(self._publish_done)
            return
        cmd = b"%s%d\r\n%s\r\n" % (prefix, n, payload)
        nc._pending.append(cmd)
        nc._pending_data_size += len(cmd)
        nc.stats["out_msgs"] += 1
        nc.stats["out_bytes"] += n
        if nc.is_connected:
            self._kick(nc)

    def _kick(self, nc: Client) -> None:
        """Wake nats-py's flusher, as its ``_flush_pending`` does, minus the ``await``."""
        queue = nc._flush_queue
        if queue is not None and queue.empty():
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(asyncio.get_running_loop().create_future())

    def _publish_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._publish_drops += 1

    def subscribe(self, subject: str, handler: Handler) -> None:
        """Deliver ``subject`` (``tw.intent.>`` wildcards too); :meth:`flush` waits for it."""
        if _BAD_SUBJECT.search(subject) or not subject:
            raise TradewireError(f"not a NATS subject: {subject!r}")
        self._subs.append((subject, handler))
        if self._nc is not None and not self._closed:
            task = asyncio.get_running_loop().create_task(self._subscribe(subject, handler))
            self._sub_tasks.add(task)
            task.add_done_callback(self._sub_tasks.discard)

    async def _subscribe(self, subject: str, handler: Handler) -> None:
        assert self._nc is not None

        async def deliver(msg: Msg) -> None:
            try:
                handler(msg.subject, msg.data)
            except Exception:
                log.exception("handler for %s raised; message skipped", msg.subject)

        await self._nc.subscribe(
            subject,
            cb=deliver,
            pending_msgs_limit=self._sub_msgs,
            pending_bytes_limit=self._sub_bytes,
        )

    def _next_server(self, servers: list[Server], info: dict[str, Any]) -> tuple[None, float]:
        """nats-py asks before each reconnect attempt: any server, after the next backoff."""
        return None, next(self._delays)

    async def _on_error(self, e: Exception) -> None:
        if isinstance(e, SlowConsumerError):
            self._slow_drops += 1
            if self._slow_drops == 1 or self._slow_drops % 10_000 == 0:
                log.warning("NATS slow consumer on %s: %d dropped", e.subject, self._slow_drops)
            return
        refused = isinstance(e, AuthorizationError) or "authorization" in str(e).lower()
        if refused and self._auth_refused is not None:
            self._auth_refused.set()
        self._last_error = f"{type(e).__name__}: {e}"
        log.warning("NATS %s: %s", self.display_url, self._last_error)

    async def _on_disconnected(self) -> None:
        if self._closed or self._nc is None:
            return
        log.warning("NATS %s disconnected; reconnecting", self.display_url)
        self._call(self.on_disconnect)

    async def _on_reconnected(self) -> None:
        self._delays = backoff(initial_s=0.05, max_s=5.0)
        log.info("NATS %s reconnected", self.display_url)
        if self._nc is not None and self._direct:
            self._kick(self._nc)
        self._call(self.on_reconnect)

    @staticmethod
    def _call(callback: Callable[[], None] | None) -> None:
        if callback is not None:
            try:
                callback()
            except Exception:
                log.exception("NATS connection callback raised")


async def _worker(url: str) -> None:
    """The measuring worker: timestamps frames, echoes requests, prints percentiles on stop."""
    import json
    import time

    from hdrh.histogram import HdrHistogram

    hist = HdrHistogram(1, 60_000_000_000, 3)  # ns → µs below
    stop = asyncio.Event()
    bus = NatsBus(url, name="measure-worker")

    def on_md(subject: str, payload: bytes) -> None:
        hist.record_value(max(1, time.perf_counter_ns() - int.from_bytes(payload[:8], "big")))

    bus.subscribe("tw.md", on_md)
    bus.subscribe("tw.req", lambda subject, payload: bus.publish("tw.rep", b"k"))
    bus.subscribe("tw.stop", lambda subject, payload: stop.set())
    await bus.start()
    await bus.flush()
    print("ready", flush=True)
    await stop.wait()
    pct = {f"p{p:g}": hist.get_value_at_percentile(p) / 1000 for p in (50, 99, 99.9)}
    print(json.dumps({"count": hist.get_total_count(), "max": hist.get_max_value() / 1000, **pct}))
    await bus.close()


async def measure(n: int = 5_000, rate: float = 5_000.0, size: int = 1024) -> dict[str, Any]:
    """One-way latency (open loop at ``rate``/s, stamped at publish) and round trip, in µs."""
    import json
    import sys
    import time

    from hdrh.histogram import HdrHistogram

    from tradewire.bus.nats_server import NatsServer

    server = NatsServer()
    await server.start()
    argv = ["-m", "tradewire.bus.nats", "--worker", server.url]
    worker = await asyncio.create_subprocess_exec(
        sys.executable, *argv, stdout=asyncio.subprocess.PIPE
    )
    assert worker.stdout is not None
    gw = NatsBus(server.url, name="measure-gateway")
    replies: asyncio.Queue[None] = asyncio.Queue()
    gw.subscribe("tw.rep", lambda subject, payload: replies.put_nowait(None))
    try:
        await gw.start()
        await gw.flush()
        assert (await asyncio.wait_for(worker.stdout.readline(), 30)).strip() == b"ready"
        pad = bytes(size - 8)
        start = time.perf_counter_ns() + 10_000_000
        for i in range(n):  # open loop: the schedule never waits for the worker
            due = start + int(i * 1e9 / rate)
            if (ahead := due - time.perf_counter_ns()) > 0:
                await asyncio.sleep(ahead / 1e9)  # no spinning: it would steal the server's CPU
            gw.publish("tw.md", time.perf_counter_ns().to_bytes(8, "big") + pad)
        rtt = HdrHistogram(1, 60_000_000_000, 3)
        request = bytes(200)
        for _ in range(n):
            t0 = time.perf_counter_ns()
            gw.publish("tw.req", request)
            await asyncio.wait_for(replies.get(), 5)
            rtt.record_value(time.perf_counter_ns() - t0)
        gw.publish("tw.stop", b"")
        one_way = json.loads(await asyncio.wait_for(worker.stdout.readline(), 30))
    finally:
        await gw.close()
        try:
            await asyncio.wait_for(worker.wait(), 10)
        except TimeoutError:
            worker.kill()
            await worker.wait()
        await server.close()
    pct = {f"p{p:g}": rtt.get_value_at_percentile(p) / 1000 for p in (50, 99, 99.9)}
    return {"one_way_us": one_way, "rtt_us": {"count": rtt.get_total_count(), **pct}}


if __name__ == "__main__":
    import sys

    loop_factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    with contextlib.suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        if sys.argv[1:2] == ["--worker"]:
            runner.run(_worker(sys.argv[2]))
        else:
            print(runner.run(measure()))
