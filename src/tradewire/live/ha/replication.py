"""The active gateway's journal, replicated through a JetStream stream to a standby.

The active hooks a :class:`JournalPublisher` onto its journal (``journal.on_frame =
publisher.on_frame``): each record's frame, exactly as written locally, is queued in memory
(one ``deque.append``; the order path never awaits NATS) and a background task publishes the
queue in order to the stream ``TW_JOURNAL_<GROUP>`` (subject ``tw.ha.<group>.journal``, file
storage, ``max_age`` 7 days by default), awaiting each PubAck. A failure is counted and the
unacknowledged frames are sent again after a backoff, for as long as it takes.

Order and exactly-once, with up to ``max_batch`` frames in flight: every frame carries a
``Nats-Msg-Id`` (``<run>.<n>``: this publisher's random run id, the frame's number), so a
resend of a stored frame is acknowledged as a duplicate instead of stored twice; and every
frame but the first of a batch carries ``Nats-Expected-Last-Msg-Id`` (its predecessor's), so
a frame whose predecessor was lost is refused rather than stored ahead of it. The first of a
batch needs no such check: everything before it is acknowledged.

A standby runs a :class:`JournalMirror`: an ordered consumer from the stream's first message
appends each frame with :meth:`Journal.append_frame` to a journal file of its own, which
``read_journal`` and ``replay`` read like the active's (the same records, byte for byte).
The mirror skips what it already applied (a redelivery, by stream sequence; a frame stored
twice, by message id) and refuses a frame that is not one intact record (counted, logged).

Not replicated: frames queued but unpublished when the active process dies (its journal
still holds them: the new active reconciles with the broker as after any restart), and the
snapshot head :meth:`Journal.rotate` writes (the mirror keeps the whole history instead,
which replays to the same state).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import deque
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api

from tradewire.engine.journal.store import Journal
from tradewire.errors import JournalCorrupt, TradewireError
from tradewire.live.ha.stream import DAY_S, connect, ensure_stream, stream_name, subject, where
from tradewire.net.backoff import backoff

log = logging.getLogger(__name__)

__all__ = ["JournalMirror", "JournalPublisher", "ensure_stream", "stream_name", "subject"]

_MSG_ID = api.Header.MSG_ID
_EXPECTED_LAST_ID = api.Header.EXPECTED_LAST_MSG_ID


class JournalPublisher:
    """Publishes the frames its :meth:`on_frame` is given, in order, to the group's stream.

    ``published`` counts frames the stream acknowledged, ``pending`` those waiting,
    ``failures`` batches that failed, ``retries`` resends after one, ``duplicates`` frames
    the stream already held (a resend of a frame whose acknowledgement was lost).
    """

    def __init__(
        self,
        conn: Client | str,
        group: str,
        *,
        max_batch: int = 256,
        max_age_s: float = 7 * DAY_S,
        duplicate_window_s: float = 600.0,
        ack_timeout_s: float = 2.0,
        max_backoff_s: float = 2.0,
        linger_s: float = 0.002,
    ) -> None:
        if max_batch < 1:
            raise TradewireError("JournalPublisher: max_batch must be at least 1")
        self.group = group
        self.stream = stream_name(group)
        self.subject = subject(group)
        self._conn = conn
        self._where = where(conn)
        self._max_batch = max_batch
        self._max_age_s = max_age_s
        self._duplicate_window_s = duplicate_window_s
        self._ack_timeout_s = ack_timeout_s
        self._max_backoff_s = max_backoff_s
        self._run = secrets.token_hex(6)
        self._queue: deque[bytes] = deque()
        self._head = 0  # the number of the frame at the queue's head
        self._wake = asyncio.Event()
        self._linger_s = linger_s
        self._wake_pending = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._nc: Client | None = None
        self._owned = False
        self._task: asyncio.Task[None] | None = None
        self._stream_ready = False
        self.published = 0
        self.failures = 0
        self.retries = 0
        self.duplicates = 0
        self.last_error = ""

    def __repr__(self) -> str:
        return (
            f"JournalPublisher({self._where!r}, stream={self.stream!r}, "
            f"published={self.published}, pending={self.pending}, failures={self.failures})"
        )

    @property
    def pending(self) -> int:
        return len(self._queue)

    def on_frame(self, frame: bytes) -> None:
        """The journal's hook: queue the frame; never blocks or awaits. The sender is woken
        ``linger_s`` after the first frame of a batch, not per frame: an order's intent is
        journaled before its bytes leave, and waking the sender then put its publish on the
        loop ahead of the order's next steps and the next market events (bench
        ``tradewire-ha``: engine p50 1.27x the unreplicated engine when woken per frame)."""
        self._queue.append(frame)
        if not self._wake_pending and self._loop is not None:
            self._wake_pending = True
            self._loop.call_later(self._linger_s, self._wake_now)

    def _wake_now(self) -> None:
        self._wake_pending = False
        self._wake.set()

    async def start(self) -> None:
        """Connect (given a URL) and start sending; the stream is made when NATS answers."""
        if self._task is not None:
            return
        self._nc, self._owned = await connect(self._conn, f"tw-ha-publisher-{self.group}")
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._send_forever())
        self._wake.set()  # frames queued before the start

    async def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every frame queued so far is acknowledged; False at the timeout."""
        deadline = time.monotonic() + timeout_s
        while self._queue:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    async def stop(self) -> None:
        """Stop sending (what is still pending stays unsent: :meth:`flush` first)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        nc, self._nc = self._nc, None
        if nc is not None and self._owned:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.close(), 5.0)
        if self._queue:
            log.warning("HA publisher %s stopped with %d frames unsent", self.stream, self.pending)

    async def _send_forever(self) -> None:
        assert self._nc is not None
        nc = self._nc
        js = nc.jetstream(timeout=self._ack_timeout_s)
        delays: Iterator[float] = self._delays()
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            acked, error = 0, ""
            try:
                if not nc.is_connected:
                    error = "not connected"
                else:
                    if not self._stream_ready:
                        await ensure_stream(
                            js,
                            self.group,
                            max_age_s=self._max_age_s,
                            duplicate_window_s=self._duplicate_window_s,
                            update=True,
                        )
                        self._stream_ready = True
                    acked, error = await self._send_batch(js)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            if acked:
                for _ in range(acked):
                    self._queue.popleft()
                self._head += acked
                self.published += acked
            if not error:
                delays = self._delays()
                continue
            self.failures += 1
            if error != self.last_error or self.failures % 100 == 1:
                log.warning(
                    "HA publisher %s: %s; %d frames pending, retrying",
                    self.stream,
                    error,
                    self.pending,
                )
            self.last_error = error
            await asyncio.sleep(next(delays))
            self.retries += 1

    def _delays(self) -> Iterator[float]:
        return backoff(initial_s=0.02, max_s=self._max_backoff_s)

    async def _send_batch(self, js: JetStreamContext) -> tuple[int, str]:
        """Send the queue's first frames and await their acks in order: how many were
        acknowledged, and what went wrong with the next one ("" when nothing)."""
        batch = list(islice(self._queue, self._max_batch))
        futures: list[asyncio.Future[api.PubAck]] = []
        previous = ""
        error = ""
        try:
            for i, frame in enumerate(batch):
                msg_id = f"{self._run}.{self._head + i}"
                headers = {_MSG_ID: msg_id}
                if previous:
                    headers[_EXPECTED_LAST_ID] = previous
                previous = msg_id
                try:
                    futures.append(await js.publish_async(self.subject, frame, headers=headers))
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    break
            deadline = time.monotonic() + self._ack_timeout_s
            acked = 0
            for future in futures:
                try:
                    ack = await asyncio.wait_for(future, max(0.0, deadline - time.monotonic()))
                except TimeoutError:
                    return acked, "no acknowledgement in time"
                except Exception as exc:
                    return acked, f"{type(exc).__name__}: {exc}"
                if ack.stream != self.stream:
                    return acked, f"acknowledged by stream {ack.stream!r}"
                if ack.duplicate:
                    self.duplicates += 1
                acked += 1
            return acked, error
        finally:
            for future in futures:
                if not future.done():
                    future.cancel()


class JournalMirror:
    """A standby's copy of the active's journal, followed from the group's stream.

    ``mirrored`` counts frames appended to the file at ``path``, ``rejected`` frames refused
    (not one intact record), ``skipped`` redeliveries and duplicates, ``gaps`` jumps in the
    stream sequence (messages gone past the stream's ``max_age``); ``last_seq`` is the last
    stream sequence applied.
    """

    def __init__(
        self,
        conn: Client | str,
        group: str,
        path: Path,
        *,
        fsync: str = "batch",
        idle_heartbeat_s: float = 0.5,
    ) -> None:
        self.group = group
        self.stream = stream_name(group)
        self.subject = subject(group)
        self.path = path
        self._conn = conn
        self._where = where(conn)
        self._fsync = fsync
        self._heartbeat_s = idle_heartbeat_s
        self._nc: Client | None = None
        self._owned = False
        self._sub: JetStreamContext.PushSubscription | None = None
        self.journal: Journal | None = None
        self._progress = asyncio.Event()
        self._last_ids: dict[str, int] = {}  # publisher run -> last frame number applied
        self.mirrored = 0
        self.rejected = 0
        self.skipped = 0
        self.gaps = 0
        self.last_seq = 0

    def __repr__(self) -> str:
        return (
            f"JournalMirror({self._where!r}, stream={self.stream!r}, path={str(self.path)!r}, "
            f"mirrored={self.mirrored}, last_seq={self.last_seq})"
        )

    async def start(self) -> None:
        """Open a fresh journal at ``path`` and follow the stream from its first message.

        Raises:
            TradewireError: ``path`` already holds records (the mirror owns a fresh file).
        """
        if self._sub is not None:
            return
        if self.path.exists() and self.path.stat().st_size > 0:
            raise TradewireError(f"HA mirror: {self.path} exists; the mirror writes a fresh file")
        self._nc, self._owned = await connect(self._conn, f"tw-ha-mirror-{self.group}")
        js = self._nc.jetstream()
        await ensure_stream(js, self.group)
        self.journal = Journal(self.path, fsync=self._fsync)
        self._sub = await js.subscribe(
            self.subject,
            stream=self.stream,
            cb=self._on_msg,
            ordered_consumer=True,
            deliver_policy=api.DeliverPolicy.ALL,
            idle_heartbeat=self._heartbeat_s,
        )
        log.info("HA mirror following %s into %s", self.stream, self.path)

    async def caught_up(self, timeout_s: float = 5.0) -> bool:
        """Whether every message the stream held when called was applied within
        ``timeout_s`` (False also when the stream cannot be asked)."""
        if self._nc is None or not self._nc.is_connected:
            return False
        deadline = time.monotonic() + timeout_s
        try:
            js = self._nc.jetstream(timeout=max(0.05, timeout_s))
            info = await js.stream_info(self.stream)
        except Exception as exc:
            log.info("HA mirror %s: stream info: %s", self.stream, type(exc).__name__)
            return False
        target = info.state.last_seq
        while self.last_seq < target:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), left)
        return True

    async def stop(self) -> None:
        """Stop following and close the file."""
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        nc, self._nc = self._nc, None
        if nc is not None and self._owned:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.close(), 5.0)
        if self.journal is not None:
            self.journal.close()

    async def _on_msg(self, msg: Msg) -> None:
        seq = msg.metadata.sequence.stream
        if seq <= self.last_seq:
            self.skipped += 1  # redelivered after the ordered consumer was recreated
            return
        if seq != self.last_seq + 1:
            self.gaps += 1
            log.warning(
                "HA mirror %s: stream sequence jumps from %d to %d (aged out?)",
                self.stream,
                self.last_seq,
                seq,
            )
        try:
            if self._duplicate(msg):
                self.skipped += 1
            else:
                self._append(msg.data, seq)
        finally:
            self.last_seq = seq
            self._progress.set()

    def _duplicate(self, msg: Msg) -> bool:
        """A frame the publisher stored twice (its resend came after the dedupe window)."""
        msg_id = (msg.headers or {}).get(_MSG_ID, "")
        run, _, number = msg_id.rpartition(".")
        if not run or not number.isdigit():
            return False
        n = int(number)
        if n <= self._last_ids.get(run, -1):
            return True
        self._last_ids[run] = n
        return False

    def _append(self, frame: bytes, seq: int) -> None:
        assert self.journal is not None
        try:
            self.journal.append_frame(frame)
        except JournalCorrupt as exc:
            self.rejected += 1
            log.error("HA mirror %s: message %d refused: %s", self.stream, seq, exc.problem)
            return
        self.mirrored += 1
