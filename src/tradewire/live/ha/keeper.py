"""Runs the :class:`~tradewire.live.ha.lease.LeaseMachine` against a real JetStream KV bucket.

Bucket ``tw_ha_<group>`` (file storage, history 1), key ``lease``, value JSON ``{holder,
term}``. The keeper is a thin loop in a task of its own: read the key every ``lease_s/3``,
do the CAS the machine asks for, feed back what came of it, sleep until the machine's next
deadline. Every KV call is bounded by ``lease_s/4``, so neither a slow server nor a dropped
connection ever holds the loop past a renewal, and the caller's event loop is never blocked.

While nats-py reconnects its calls fail or time out: those are outcomes of unknown effect,
so an active keeps :meth:`LeaseKeeper.may_send` until its fence and then turns standby (a
timer fires at the fence even while a call is in flight); once the server answers again the
machine decides afresh. ``on_change(active, term)`` is called, and one line logged, at each
change: ``gateway GROUP: active (term N)`` / ``gateway GROUP: standby``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections.abc import Callable

import nats
from nats.aio.client import Client
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from tradewire.bus.nats import redact_url
from tradewire.errors import TradewireError
from tradewire.live.ha.lease import Acquire, LeaseMachine, LeaseValue, Renew

log = logging.getLogger(__name__)

KEY = "lease"
_GROUP = re.compile(r"^[A-Za-z0-9_-]+$")


def bucket_name(group: str) -> str:
    """``tw_ha_<group>``: the group must be letters, digits, ``_`` or ``-``."""
    if not _GROUP.match(group):
        raise TradewireError(f"gateway.ha.group {group!r}: use letters, digits, _ or - only")
    return f"tw_ha_{group}"


class LeaseKeeper:
    """One gateway's seat in an HA group; see the module docstring."""

    def __init__(
        self,
        nc_or_url: Client | str,
        group: str,
        holder: str,
        lease_s: float = 2.0,
        margin_s: float | None = None,
        on_change: Callable[[bool, int], None] | None = None,
    ) -> None:
        """``nc_or_url``: a connected nats-py client (left open by :meth:`stop`) or a URL
        (the keeper connects, reconnects forever and closes it). ``holder`` must be unique
        among the group's live processes. ``margin_s`` defaults to ``lease_s / 5``."""
        self.group = group
        self.bucket = bucket_name(group)
        self.holder = holder
        self.lease_s = lease_s
        self.margin_s = lease_s / 5 if margin_s is None else margin_s
        self._machine = LeaseMachine(holder, lease_s, self.margin_s)
        self._on_change = on_change
        self._url = nc_or_url if isinstance(nc_or_url, str) else None
        self._nc: Client | None = None if isinstance(nc_or_url, str) else nc_or_url
        self._kv: KeyValue | None = None
        self.op_timeout_s = lease_s / 4  # shorter than the renewal period, lease_s / 3
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._fence_timer: asyncio.TimerHandle | None = None
        self._reported = False
        self._failing = False

    def __repr__(self) -> str:
        return f"LeaseKeeper(group={self.group!r}, holder={self.holder!r}, {self._machine!r})"

    @property
    def active(self) -> bool:
        """Whether this gateway holds the lease and is before its fence."""
        return self.may_send()

    @property
    def term(self) -> int:
        """Our term while active, else the highest term seen in the bucket."""
        return self._machine.term

    def may_send(self) -> bool:
        """The send gate: ask it right before each order goes out."""
        return self._machine.may_send(time.monotonic())

    async def start(self) -> None:
        """Start the keeper's task and return at once: everyone starts as a standby."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"ha-lease-{self.group}")

    async def stop(self) -> None:
        """Stop sending at once, then give the lease back (CAS-delete, only if still ours)."""
        revision = self._machine.release()
        self._stopping.set()
        self._notify()
        if self._fence_timer is not None:
            self._fence_timer.cancel()
        task, self._task = self._task, None
        if task is not None:  # it ends after its current KV call, bounded; else cancel it
            done, _ = await asyncio.wait({task}, timeout=self.op_timeout_s * 2)
            if not done:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if revision is not None and self._kv is not None:
            try:
                await asyncio.wait_for(self._kv.delete(KEY, last=revision), self.op_timeout_s)
            except Exception as e:  # the others take over after lease + margin instead
                log.debug("gateway %s: releasing the lease failed: %r", self.group, e)
        if self._url is not None and self._nc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._nc.close(), self.op_timeout_s * 4)
            self._nc = None

    def _notify(self) -> None:
        """Report a change of ``active``, and arm the timer that reports the fence."""
        now = time.monotonic()
        active = self._machine.may_send(now)
        if self._fence_timer is not None:
            self._fence_timer.cancel()
            self._fence_timer = None
        fence = self._machine.fence_at
        if active and fence is not None:
            self._fence_timer = asyncio.get_running_loop().call_later(fence - now, self._notify)
        if active == self._reported:
            return
        self._reported = active
        if active:
            log.info("gateway %s: active (term %d)", self.group, self._machine.term)
        else:
            log.info("gateway %s: standby", self.group)
        if self._on_change is not None:
            try:
                self._on_change(active, self._machine.term)
            except Exception:
                log.exception("gateway %s: on_change failed", self.group)

    async def _run(self) -> None:
        next_read = -math.inf
        while not self._stopping.is_set():
            try:
                action = self._machine.tick(time.monotonic())
                self._notify()
                if isinstance(action, Acquire | Renew):
                    await self._write(action)
                elif time.monotonic() >= next_read:
                    next_read = time.monotonic() + self.lease_s / 3
                    await self._read()
                else:
                    until = min(action.until, next_read)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._stopping.wait(), max(0.0, until - time.monotonic())
                        )
                self._notify()
            except asyncio.CancelledError:
                raise
            except Exception:  # never let the keeper die: the fence does not need it
                log.exception("gateway %s: lease keeper error", self.group)
                await asyncio.sleep(self.lease_s / 3)

    async def _bucket(self) -> KeyValue:
        """The bucket, created on first use; connecting first when we were given a URL."""
        if self._kv is not None:
            return self._kv
        if self._nc is None:
            assert self._url is not None
            self._nc = await nats.connect(
                self._url,
                name=f"tradewire-ha-{self.group}-{self.holder}",
                max_reconnect_attempts=-1,
                reconnect_time_wait=min(0.5, self.lease_s / 4),
                connect_timeout=self.op_timeout_s * 4,
                error_cb=self._nats_error,
            )
            log.debug("gateway %s: connected to %s", self.group, redact_url(self._url))
        js = self._nc.jetstream(timeout=self.op_timeout_s)
        try:
            kv = await asyncio.wait_for(js.key_value(self.bucket), self.op_timeout_s)
        except BucketNotFoundError:
            config = KeyValueConfig(bucket=self.bucket, history=1, storage=StorageType.FILE)
            kv = await asyncio.wait_for(js.create_key_value(config), self.op_timeout_s)
        self._kv = kv
        return kv

    async def _nats_error(self, e: Exception) -> None:
        log.debug("gateway %s: nats: %r", self.group, e)

    def _failed(self, what: str, e: BaseException) -> None:
        if not self._failing:
            log.warning("gateway %s: lease store unreachable (%s: %r)", self.group, what, e)
        self._failing = True

    async def _read(self) -> None:
        try:
            kv = await self._bucket()
            entry = await asyncio.wait_for(kv.get(KEY), self.op_timeout_s)
        except KeyNotFoundError as e:  # absent (revision 0) or deleted (its marker's revision)
            revision = e.entry.revision if e.entry is not None else 0
            self._machine.observed(revision or 0, None, time.monotonic())
        except Exception as e:
            self._failed("read", e)
            return
        else:
            value = LeaseValue.decode(entry.value or b"")
            self._machine.observed(entry.revision or 0, value, time.monotonic())
        self._failing = False

    async def _write(self, action: Acquire | Renew) -> None:
        value = LeaseValue(self.holder, action.term).encode()
        started = time.monotonic()
        try:
            kv = await self._bucket()
            revision = await asyncio.wait_for(
                kv.update(KEY, value, last=action.revision), self.op_timeout_s
            )
        except KeyWrongLastSequenceError:
            self._machine.renewed(False, started, conflict=True, answered_at=time.monotonic())
        except Exception as e:
            self._machine.renewed(False, started, answered_at=time.monotonic())
            self._failed("write", e)
        else:
            self._machine.renewed(True, started, revision, answered_at=time.monotonic())
            self._failing = False
