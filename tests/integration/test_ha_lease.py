"""Gateways sharing a lease in a real nats-server's JetStream KV (issue 25): one active, the
others standby; a lost connection fences the active and a standby takes over; a server
restart ends with exactly one active again. lease_s = 1 s, margin 0.2 s."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

import nats
import pytest
from nats.aio.client import Client

from tradewire.bus.nats_server import NatsServer
from tradewire.live.ha.keeper import LeaseKeeper

LEASE, MARGIN = 1.0, 0.2
pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def server() -> AsyncIterator[NatsServer]:
    srv = NatsServer(jetstream=True)
    await srv.start()
    yield srv
    await srv.close()


async def _quiet(e: Exception) -> None:
    """The test's clients reconnect through a server restart: no tracebacks for that."""


class Group:
    """Keepers of one group, each on a client of its own, and a watchdog that samples
    ``may_send`` of all of them every millisecond: two at once fails the test."""

    def __init__(self, url: str, name: str) -> None:
        self.url, self.name = url, name
        self.keepers: list[LeaseKeeper] = []
        self.clients: list[Client] = []
        self.changes: list[tuple[str, bool, int]] = []
        self.overlaps: list[float] = []
        self._watch: asyncio.Task[None] | None = None

    async def add(self, holder: str, *, own_client: bool = False) -> LeaseKeeper:
        """``own_client``: the keeper gets the URL and connects by itself."""
        target: Client | str = self.url
        if not own_client:
            target = await nats.connect(
                self.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1, error_cb=_quiet
            )
            self.clients.append(target)
        keeper = LeaseKeeper(
            target, self.name, holder, LEASE, MARGIN,
            on_change=lambda active, term: self.changes.append((holder, active, term)),
        )  # fmt: skip
        self.keepers.append(keeper)
        await keeper.start()
        if self._watch is None:
            self._watch = asyncio.create_task(self._watchdog())
        return keeper

    async def _watchdog(self) -> None:
        while True:
            if sum(k.may_send() for k in self.keepers) > 1:
                self.overlaps.append(time.monotonic())
            await asyncio.sleep(0.001)

    def actives(self) -> list[LeaseKeeper]:
        return [k for k in self.keepers if k.active]

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        for keeper in self.keepers:
            await keeper.stop()
        for nc in self.clients:
            with contextlib.suppress(Exception):
                await nc.close()
        assert self.overlaps == [], "two gateways could send at once"


@pytest.fixture
async def group(server: NatsServer) -> AsyncIterator[Callable[[str], Group]]:
    made: list[Group] = []

    def make(name: str) -> Group:
        made.append(Group(server.url, name))
        return made[-1]

    yield make
    for g in made:
        await g.close()


async def within(predicate: Callable[[], object], timeout_s: float, what: str) -> float:
    """Wait for a condition, polling every millisecond; returns the seconds it took."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        await asyncio.sleep(0.001)
    return time.monotonic() - start


async def stays(predicate: Callable[[], object], duration_s: float, what: str) -> None:
    end = time.monotonic() + duration_s
    while time.monotonic() < end:
        assert predicate(), what
        await asyncio.sleep(0.005)


async def test_two_gateways_one_active_and_a_lost_connection_hands_over(
    group: Callable[[str], Group], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tradewire.live.ha.keeper")
    g = group("g1")
    a = await g.add("gw-a")
    b = await g.add("gw-b")
    await within(lambda: len(g.actives()) == 1, 3.0, "one of two becomes active")
    await stays(lambda: len(g.actives()) == 1, 2 * LEASE, "exactly one stays active")
    active, standby = (a, b) if a.active else (b, a)
    term = active.term
    assert term == 1
    assert not standby.may_send()
    assert "gateway g1: active (term 1)" in caplog.messages

    await g.clients[g.keepers.index(active)].close()  # the active's connection is gone
    cut = time.monotonic()
    fenced = await within(lambda: not active.may_send(), LEASE, "the cut-off active fences")
    await within(lambda: standby.active, LEASE + MARGIN + 1.0, "the standby takes over")
    took = time.monotonic() - cut
    print(f"fenced after {fenced:.3f} s; standby active after {took:.3f} s")
    assert fenced <= LEASE - MARGIN + 0.05  # its last renewal was sent before the cut
    assert took <= LEASE + MARGIN + 1.0
    assert standby.term == term + 1
    assert not active.active
    assert "gateway g1: standby" in caplog.messages
    assert "gateway g1: active (term 2)" in caplog.messages
    holder = standby.holder
    assert (holder, True, term + 1) in g.changes


async def test_three_gateways_one_active_and_a_stop_hands_over_at_once(
    group: Callable[[str], Group],
) -> None:
    g = group("g3")
    for name in ("x", "y"):
        await g.add(name)
    await g.add("z", own_client=True)
    await within(lambda: len(g.actives()) == 1, 3.0, "one of three becomes active")
    await stays(lambda: len(g.actives()) == 1, 1.5 * LEASE, "exactly one stays active")
    first = g.actives()[0]
    term = first.term
    await first.stop()  # releases: the key is deleted, no lease to wait out
    assert not first.may_send()
    took = await within(lambda: len(g.actives()) == 1, LEASE, "another takes over")
    print(f"after a stop, the next active in {took:.3f} s")
    assert g.actives()[0] is not first
    assert g.actives()[0].term == term + 1


async def test_a_nats_server_restart_ends_with_exactly_one_active(
    server: NatsServer, group: Callable[[str], Group]
) -> None:
    g = group("g2")
    await g.add("gw-a")
    await g.add("gw-b")
    await within(lambda: len(g.actives()) == 1, 3.0, "one becomes active")
    term = g.actives()[0].term
    stopped = time.monotonic()
    await server.stop()
    await within(lambda: not g.actives(), LEASE, "nobody sends while the store is down")
    assert time.monotonic() - stopped <= LEASE
    await asyncio.sleep(0.5)  # the store stays down a while: nobody may reclaim it meanwhile
    assert not g.actives()
    await server.start()  # same port, same store directory
    back = await within(lambda: len(g.actives()) == 1, 8.0, "one active after the restart")
    print(f"active again {back:.3f} s after the server was back")
    await stays(lambda: len(g.actives()) == 1, 1.5 * LEASE, "exactly one stays active")
    assert g.actives()[0].term > term
