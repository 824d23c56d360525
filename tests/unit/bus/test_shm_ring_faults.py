"""Bad bytes in a worker's ring, written straight into a real ring by a hand-made worker:
a bad record is skipped and counted and the channel goes on; a head or a length no writer
could have made ends that worker only, with one line, and the gateway keeps serving."""

from __future__ import annotations

import logging
import struct
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from tests.unit.bus.conftest import RawWorker

from tradewire.bus.ring import RingBus


@pytest.fixture
async def gateway() -> AsyncIterator[RingBus]:
    bus = RingBus(f"f{uuid.uuid4().hex[:10]}", role="gateway", capacity=16, max_payload=8192)
    await bus.start()
    yield bus
    await bus.close()


def received(bus: RingBus) -> list[tuple[str, bytes]]:
    got: list[tuple[str, bytes]] = []
    bus.subscribe("tw.intent.>", lambda s, p: got.append((s, p)))
    return got


def record(subject: bytes, payload: bytes, plen: int | None = None) -> bytes:
    n = len(payload) if plen is None else plen
    return struct.pack("<IH", n, len(subject)) + subject + payload


async def test_a_non_ascii_subject_is_skipped_and_counted_and_the_channel_goes_on(
    gateway: RingBus, until: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    got = received(gateway)
    w = await RawWorker.join(gateway.name, "w1")
    try:
        assert w.ack == b"ok"
        for _ in range(3):
            w.write_raw(record(b"tw.intent.\xff", b"junk"))
        w.send(b"tw.intent.w1", b"after")
        await until(lambda: got == [("tw.intent.w1", b"after")])
        assert gateway.skipped_by_worker == {"w1": 3}
        w.send(b"tw.intent.w1", b"again")
        await until(lambda: len(got) == 2)
        assert gateway.workers == ["w1"]
        lines = [r for r in caplog.records if "skipped" in r.getMessage()]
        assert len(lines) == 1  # one line per worker, then only the count
    finally:
        w.close()


@pytest.mark.parametrize(
    "hostile",
    ["head far ahead", "head behind tail", "record longer than the ring"],
)
async def test_a_ring_no_writer_could_make_ends_that_worker_only(
    gateway: RingBus,
    until: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
    hostile: str,
) -> None:
    caplog.set_level(logging.INFO)
    got = received(gateway)
    bad = await RawWorker.join(gateway.name, "bad")
    good = await RawWorker.join(gateway.name, "good")
    try:
        assert bad.ack == good.ack == b"ok"
        bad.send(b"tw.intent.bad", b"fine")
        await until(lambda: ("tw.intent.bad", b"fine") in got)
        if hostile == "head far ahead":
            bad.set_head(1 << 62)
        elif hostile == "head behind tail":
            bad.set_head(0)
        else:
            bad.write_raw(record(b"tw.intent.bad", b"x" * 8, plen=1 << 30))
        await until(lambda: gateway.workers == ["good"], 5.0)
        assert gateway.faults == 1
        good.send(b"tw.intent.good", b"still served")
        await until(lambda: ("tw.intent.good", b"still served") in got)
        lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(lines) == 1, [r.getMessage() for r in lines]
        assert "bad" in lines[0].getMessage()
    finally:
        bad.close()
        good.close()
