"""Descriptors a worker hands the gateway in its join, tried for real: a memfd it can still
shrink, wake-ups of its own (the gateway makes those), a wake-up it closed. Each refuses or
ends that worker with one line; the gateway keeps serving the others."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from tests.unit.bus.conftest import RawWorker

from tradewire.bus.ring import RingBus


@pytest.fixture
async def gateway() -> AsyncIterator[RingBus]:
    bus = RingBus(f"d{uuid.uuid4().hex[:10]}", role="gateway", capacity=16, max_payload=8192)
    await bus.start()
    yield bus
    await bus.close()


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


async def still_serves(gateway: RingBus, good: RawWorker, until: Callable[..., Any]) -> None:
    gateway.publish("tw.md", b"frame")
    got: list[tuple[str, bytes]] = []
    await until(lambda: got.extend(good.received()) or ("tw.md", b"frame") in got)


async def test_a_ring_the_worker_could_shrink_is_refused_and_shrinking_hurts_no_one(
    gateway: RingBus, until: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    good = await RawWorker.join(gateway.name, "good")
    bad = await RawWorker.join(gateway.name, "bad", seal=False)
    try:
        os.ftruncate(bad.fds[0], 0)  # what killed the gateway with SIGBUS on its next write
        os.ftruncate(bad.fds[2], 0)
        await still_serves(gateway, good, until)
        assert bad.ack == b""
        assert gateway.workers == ["good"]
        assert len(warnings(caplog)) == 1
        assert "seal" in warnings(caplog)[0]
    finally:
        good.close()
        bad.close()


async def test_a_ring_smaller_than_it_claims_is_refused(
    gateway: RingBus, caplog: pytest.LogCaptureFixture
) -> None:
    bad = await RawWorker.join(gateway.name, "bad", size=1 << 16, claim=1 << 20)
    try:
        assert bad.ack == b""
        assert gateway.workers == []
        assert len(warnings(caplog)) == 1
    finally:
        bad.close()


@pytest.mark.parametrize("own", ["pipe", "eventfd"])
async def test_wake_ups_of_the_workers_own_are_refused(
    gateway: RingBus, until: Callable[..., Any], caplog: pytest.LogCaptureFixture, own: str
) -> None:
    """The gateway makes every wake-up it uses: one the worker made could be made to block
    it (a pipe fills; an eventfd's shared O_NONBLOCK can be cleared: test_shm_wakeups)."""
    good = await RawWorker.join(gateway.name, "good")
    bad = await RawWorker.join(gateway.name, "bad", own_wakes=own)
    try:
        assert bad.ack == b""
        assert gateway.workers == ["good"]
        assert len(warnings(caplog)) == 1
        assert "4 descriptors" in warnings(caplog)[0]
        await still_serves(gateway, good, until)
    finally:
        good.close()
        bad.close()


async def test_a_wake_up_the_worker_closed_ends_that_worker_only(
    gateway: RingBus, until: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    # A closed wake-up is how a worker that exits looks when its goodbye is not read yet:
    # that worker ends, with an INFO line, and it is no fault (an honest worker's exit once
    # put a "cut off" WARNING in the gateway's log).
    caplog.set_level(logging.INFO, logger="tradewire.bus")
    good = await RawWorker.join(gateway.name, "good")
    bad = await RawWorker.join(gateway.name, "bad")
    try:
        assert bad.ack == b"ok"
        os.close(bad.fds[1])  # the gateway's next wake-up send: ECONNREFUSED
        await still_serves(gateway, good, until)
        assert gateway.workers == ["good"]
        assert gateway.faults == 0
        assert warnings(caplog) == []
        assert any("worker bad left" in r.getMessage() for r in caplog.records)
    finally:
        good.close()
        bad.close()
