"""A standby follows the active's journal through a real nats-server's JetStream: the
mirror's file replays to the active's orders and positions, through a server restart, from
a late start, and the active's appends never wait on NATS."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client

from tradewire.bus.nats_server import NatsServer
from tradewire.engine.journal.replay import replay
from tradewire.engine.journal.store import Journal, read_journal
from tradewire.live.ha.replication import JournalMirror, JournalPublisher, stream_name, subject

pytestmark = pytest.mark.timeout(30)

GROUP = "desk-1"
T0 = 1_700_000_000_000_000_000
Until = Callable[..., Any]


@pytest.fixture
async def server() -> AsyncIterator[NatsServer]:
    srv = NatsServer(jetstream=True)
    await srv.start()
    yield srv
    await srv.close()


@pytest.fixture
async def clients(server: NatsServer) -> AsyncIterator[list[Client]]:
    made: list[Client] = []
    yield made
    for nc in made:
        with contextlib.suppress(Exception):  # a server the test stopped: nothing to flush
            await nc.close()


async def connect(server: NatsServer, made: list[Client]) -> Client:
    nc = await nats.connect(
        server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1, connect_timeout=2
    )
    made.append(nc)
    return nc


def trade(j: Journal, i: int) -> None:
    """One order's life: intent, sent, ack, a partial fill and a fill (or a cancel)."""
    cid, sym = f"c{i}", f"S{i % 3}"
    ts = T0 + i * 100
    side = "buy" if i % 2 == 0 else "sell"
    intent = {"symbol": sym, "side": side, "qty": 10, "type": "limit", "limit": 10.0 + i}
    j.append("intent", cid, {**intent, "strategy": "s"}, ts_ns=ts)
    j.append("sent", cid, ts_ns=ts + 1)
    j.append("ack", cid, {"broker_id": f"b{i}"}, ts_ns=ts + 2)
    j.append("partial_fill", cid, {"exec_id": f"e{i}a", "qty": 4, "price": 10.0}, ts_ns=ts + 3)
    if i % 5 == 4:
        j.append("cancel_req", cid, ts_ns=ts + 4)
        j.append("canceled", cid, ts_ns=ts + 5)
    else:
        j.append("fill", cid, {"exec_id": f"e{i}b", "qty": 6, "price": 10.5}, ts_ns=ts + 4)


def correct(j: Journal, i: int) -> None:
    data = {"qty": 7.0 + i, "avg": 9.25, "reason": "reconcile"}
    j.append("position", f"S{i % 3}", data, ts_ns=T0 + i * 100 + 50)


def state(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    result = replay(read_journal(path, repair=False).records)
    orders = {
        cid: (o.status, o.filled_qty, o.avg_fill_price, o.broker_id)
        for cid, o in result.manager.orders.items()
    }
    book = {s: (p.qty, p.avg_price, p.realized) for s, p in result.book.positions.items()}
    return orders, book


def assert_same(source: Path, mirror: Path) -> None:
    assert mirror.read_bytes() == source.read_bytes()
    orders, book = state(source)
    assert state(mirror) == (orders, book)
    assert len(orders) >= 3
    assert book


async def hooked(nc: Client, path: Path, **kw: Any) -> tuple[Journal, JournalPublisher]:
    journal = Journal(path, fsync="never")
    publisher = JournalPublisher(nc, GROUP, **kw)
    journal.on_frame = publisher.on_frame
    await publisher.start()
    return journal, publisher


async def test_the_mirror_replays_to_the_actives_orders_and_positions(server, clients, tmp_path):
    journal, publisher = await hooked(await connect(server, clients), tmp_path / "active.twj")
    mirror = JournalMirror(await connect(server, clients), GROUP, tmp_path / "standby.twj")
    await mirror.start()
    try:
        for i in range(40):
            trade(journal, i)
            if i % 10 == 9:
                correct(journal, i)
            await asyncio.sleep(0)
        assert await publisher.flush(5)
        assert await mirror.caught_up(5)
        journal.close()
        mirror.journal.close()  # type: ignore[union-attr]
        assert_same(tmp_path / "active.twj", tmp_path / "standby.twj")
        n = journal.records_written
        assert (publisher.published, publisher.pending, publisher.failures) == (n, 0, 0)
        assert (mirror.mirrored, mirror.last_seq, mirror.rejected, mirror.gaps) == (n, n, 0, 0)
        assert "desk-1" in repr(publisher) or stream_name(GROUP) in repr(publisher)
    finally:
        await publisher.stop()
        await mirror.stop()


async def test_a_server_restart_mid_stream_loses_nothing(server, clients, tmp_path, until):
    journal, publisher = await hooked(await connect(server, clients), tmp_path / "active.twj")
    mirror = JournalMirror(await connect(server, clients), GROUP, tmp_path / "standby.twj")
    await mirror.start()
    try:
        for i in range(15):
            trade(journal, i)
        assert await publisher.flush(5)
        await server.stop()
        for i in range(15, 30):  # written while the server is down
            trade(journal, i)
        correct(journal, 29)
        await until(lambda: publisher.failures > 0, 5)
        await server.start()  # same port, same store directory
        for i in range(30, 40):
            trade(journal, i)
        correct(journal, 39)
        assert await publisher.flush(8), repr(publisher)
        assert await mirror.caught_up(8), repr(mirror)
        journal.close()
        mirror.journal.close()  # type: ignore[union-attr]
        assert_same(tmp_path / "active.twj", tmp_path / "standby.twj")
        n = journal.records_written
        assert publisher.published == n
        assert publisher.failures > 0
        assert publisher.retries > 0
        assert mirror.mirrored == n
        assert mirror.gaps == 0
        assert mirror.last_seq == n  # the stream holds each frame once
    finally:
        await publisher.stop()
        await mirror.stop()


async def test_a_mirror_started_late_catches_up_from_the_start(server, clients, tmp_path):
    journal, publisher = await hooked(await connect(server, clients), tmp_path / "active.twj")
    try:
        for i in range(60):
            trade(journal, i)
        correct(journal, 59)
        assert await publisher.flush(5)
        mirror = JournalMirror(server.url, GROUP, tmp_path / "standby.twj")
        await mirror.start()
        try:
            assert await mirror.caught_up(5)
            assert mirror.mirrored == journal.records_written
            journal.close()
            mirror.journal.close()  # type: ignore[union-attr]
            assert_same(tmp_path / "active.twj", tmp_path / "standby.twj")
        finally:
            await mirror.stop()
    finally:
        await publisher.stop()


async def test_caught_up_waits_for_what_the_stream_held_when_asked(server, clients, tmp_path):
    nc = await connect(server, clients)
    idle = JournalMirror(nc, GROUP, tmp_path / "never.twj")
    assert not await idle.caught_up(0.1)  # not started: it cannot know
    journal, publisher = await hooked(nc, tmp_path / "active.twj")
    mirror = JournalMirror(await connect(server, clients), GROUP, tmp_path / "standby.twj")
    await mirror.start()
    assert await mirror.caught_up(1)  # an empty stream: nothing to wait for
    stop = asyncio.Event()

    async def keep_trading() -> None:
        i = 0
        while not stop.is_set():
            trade(journal, i)
            i += 1
            await asyncio.sleep(0.001)

    producer = asyncio.create_task(keep_trading())
    try:
        await asyncio.sleep(0.2)
        held = (await nc.jetstream().stream_info(stream_name(GROUP))).state.last_seq
        assert held > 0
        # The stream keeps growing; caught_up needs only what it held when called.
        assert await mirror.caught_up(5)
        assert mirror.last_seq >= held
    finally:
        stop.set()
        await producer
    assert await publisher.flush(5)
    assert await mirror.caught_up(5)
    assert mirror.last_seq == journal.records_written
    await server.stop()
    started = time.monotonic()
    assert not await mirror.caught_up(0.5)  # the stream cannot be asked: not known
    assert time.monotonic() - started < 2.0
    await server.start()
    await publisher.stop()
    await mirror.stop()


async def test_a_frame_that_is_not_a_record_is_counted_and_never_appended(
    server, clients, tmp_path
):
    nc = await connect(server, clients)
    journal, publisher = await hooked(nc, tmp_path / "active.twj")
    mirror = JournalMirror(nc, GROUP, tmp_path / "standby.twj")
    await mirror.start()
    try:
        trade(journal, 0)
        assert await publisher.flush(5)
        await nc.jetstream().publish(subject(GROUP), b"\x05\x00\x00\x00garbage")
        trade(journal, 1)
        assert await publisher.flush(5)
        assert await mirror.caught_up(5)
        assert mirror.rejected == 1
        assert mirror.mirrored == journal.records_written
        journal.close()
        mirror.journal.close()  # type: ignore[union-attr]
        assert (tmp_path / "standby.twj").read_bytes() == (tmp_path / "active.twj").read_bytes()
    finally:
        await publisher.stop()
        await mirror.stop()


async def test_append_never_waits_on_nats_while_the_server_is_down(server, clients, tmp_path):
    journal, publisher = await hooked(await connect(server, clients), tmp_path / "active.twj")
    try:
        trade(journal, 0)
        assert await publisher.flush(5)
        await server.stop()
        times: list[float] = []
        for i in range(1, 101):
            started = time.perf_counter()
            trade(journal, i)  # five or six appends
            times.append(time.perf_counter() - started)
            if i % 10 == 0:
                await asyncio.sleep(0.01)  # let the sender try, and fail
        assert publisher.pending == journal.records_written - publisher.published
        assert publisher.pending > 500
        assert publisher.failures > 0
        times.sort()
        # Never anywhere near a network timeout (the ack timeout is 2 s): a few µs each.
        assert times[-1] < 0.05, f"slowest {times[-1] * 1e3:.1f} ms"
        assert times[len(times) // 2] < 0.005
        await server.start()
        assert await publisher.flush(8), repr(publisher)
        assert publisher.published == journal.records_written
    finally:
        journal.close()
        await publisher.stop()


async def test_an_existing_file_is_never_clobbered_by_a_mirror(server, tmp_path):
    path = tmp_path / "standby.twj"
    Journal(path).close()
    path.write_bytes(path.read_bytes() + b"x")
    mirror = JournalMirror(server.url, GROUP, path)
    with pytest.raises(Exception, match="exists"):
        await mirror.start()
    assert path.read_bytes().endswith(b"x")
