"""A worker that turns its wake-ups against the gateway, for real: it clears ``O_NONBLOCK``
on every wake-up descriptor it holds and fills what it can, and the gateway must go on.

Before the gateway made its own wake-ups, the worker's eventfd was the gateway's too (one
open file description): cleared ``O_NONBLOCK`` plus a full counter made the gateway's next
``write`` block for ever, and its whole loop (feed, trade stream, kill switch) with it. Each
gateway call that could block runs in a thread here, bounded, so the test fails instead of
hanging; a blocked call is then released by the worker's own read.
"""

from __future__ import annotations

import fcntl
import logging
import os
import select
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from tests.unit.bus.conftest import RawWorker, is_eventfd

from tradewire.bus.ring import RingBus
from tradewire.bus.shm_wake import Waker, WakeReader, wake_pair

FRAME = b"m" * 200
FRAMES = 2000  # more than a wake-up queue holds, fewer than the worker's ring
RING = 1 << 20


@pytest.fixture
async def gateway() -> AsyncIterator[RingBus]:
    bus = RingBus(f"k{uuid.uuid4().hex[:10]}", role="gateway", capacity=4096, max_payload=8192)
    await bus.start()
    yield bus
    await bus.close()


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def make_blocking(fd: int) -> None:
    """What the hostile worker does to a wake-up it holds: clear O_NONBLOCK, fill it."""
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    if is_eventfd(fd):
        os.eventfd_write(fd, 0xFFFF_FFFF_FFFF_FFFE)  # a blocking writer of 1 now waits


def returns_within(call: Callable[[], None], seconds: float, release: Callable[[], None]) -> bool:
    """Run ``call`` in a thread; if it has not returned after ``seconds``, ``release`` it."""
    done = threading.Event()

    def run() -> None:
        call()
        done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ok = done.wait(seconds)
    if not ok:
        release()
    thread.join(5)
    return ok


async def test_a_worker_cannot_make_the_gateways_wake_up_writes_block(
    gateway: RingBus, until: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    good = await RawWorker.join(gateway.name, "good", size=RING)
    bad = await RawWorker.join(gateway.name, "bad", size=RING)
    try:
        assert bad.ack == b"ok"
        make_blocking(bad.fds[1])  # never read either: the gateway's wake-ups pile up

        def publish() -> None:
            for _ in range(FRAMES):
                gateway.publish("tw.md", FRAME)

        def release() -> None:  # the worker empties the counter: the blocked write goes on
            os.eventfd_read(bad.fds[1])

        assert returns_within(publish, 5.0, release), "the gateway blocked on a wake-up"
        got = good.received()
        assert len(got) == FRAMES
        assert "good" in gateway.workers
        # kept, and served: the wake-ups its full queue could not take were skipped and
        # counted (its ring says the rest), silently; a slow worker is no fault
        assert sorted(gateway.workers) == ["bad", "good"]
        assert len(bad.received()) == FRAMES
        assert 0 < gateway.wakes_skipped_by_worker["bad"] < FRAMES
        assert warnings(caplog) == []
        gateway.publish("tw.md", b"after")
        await until(lambda: ("tw.md", b"after") in good.received())
    finally:
        good.close()
        bad.close()


async def test_a_worker_cannot_make_the_gateways_wake_up_reads_block(
    gateway: RingBus, until: Callable[..., Any]
) -> None:
    bad = await RawWorker.join(gateway.name, "bad")
    try:
        make_blocking(bad.fds[3])
        if is_eventfd(bad.fds[3]):
            os.eventfd_read(bad.fds[3])  # empty again: a blocking reader now waits
        up = gateway._peers["bad"].up  # the read the gateway does when the worker wakes it

        def release() -> None:
            os.eventfd_write(bad.fds[3], 1)

        assert returns_within(up.clear_wake, 5.0, release), "the gateway blocked on a read"
        bad.send(b"tw.intent.bad", b"still")
        got: list[tuple[str, bytes]] = []
        gateway.subscribe("tw.intent.>", lambda s, p: got.append((s, p)))
        await until(lambda: got == [("tw.intent.bad", b"still")])
    finally:
        bad.close()


def test_one_clear_empties_a_full_wake_up_queue_as_one_eventfd_read_did() -> None:
    """A remainder would keep the reader's end readable, and the loop would start a second
    drain of the same ring per turn (a slow worker then took a multiple of its batch per
    turn before it looked at a stop signal)."""
    keep, give = wake_pair()
    waker, reader = Waker(keep), WakeReader(give)
    try:
        while not waker.skipped:  # the kernel's queue is full: ~280 datagrams
            waker.wake()
        assert select.select([reader.fd], [], [], 0)[0] == [reader.fd]
        reader.clear()
        assert select.select([reader.fd], [], [], 0)[0] == []
        waker.wake()  # and the next one is sent again
        assert select.select([reader.fd], [], [], 0)[0] == [reader.fd]
    finally:
        waker.close()
        reader.close()
