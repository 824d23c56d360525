"""A deterministic simulation of lease machines racing on a CAS key-value store (issue 25).

Real time is the simulation's; each machine sees only its own monotonic clock, with a random
offset and a rate drift within the documented bound (``ρ < margin/lease``). Requests and
answers take random delays, some far longer than the client's timeout (the server then
applies a write its sender gave up on), and the current holder is partitioned from time to
time. Every send window a machine could use, ``[answer, fence)``, is recorded in real time,
and no two machines' windows may overlap; ``may_send`` is also sampled at every event.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from tradewire.live.ha.lease import Acquire, LeaseMachine, LeaseValue, Renew

L, M = 1.0, 0.2
OP_TIMEOUT = 0.25 * L  # the keeper's bound on every KV call is shorter than L/3
POLL = L / 3


@dataclass
class KV:
    """One key with JetStream's CAS semantics: revision 0 = never existed."""

    seq: int = 0
    revision: int = 0
    value: LeaseValue | None = None

    def cas(self, expected: int, value: LeaseValue) -> int | None:
        if expected != self.revision:
            return None
        self.seq += 1
        self.revision, self.value = self.seq, value
        return self.revision


@dataclass
class Node:
    name: str
    machine: LeaseMachine
    offset: float
    rate: float
    busy: bool = False
    op_id: int = 0
    next_poll: float = 0.0
    partitioned_until: float = -1.0
    windows: list[tuple[float, float]] = field(default_factory=list)

    def local(self, t: float) -> float:
        return self.offset + self.rate * t

    def real(self, local: float) -> float:
        return (local - self.offset) / self.rate


class Sim:
    def __init__(
        self, seed: int, n: int, machine: Callable[[str], LeaseMachine] | None = None
    ) -> None:
        self.rng = random.Random(seed)
        self.kv = KV()
        self.now = 0.0
        self.queue: list[tuple[float, int, Callable[[], None]]] = []
        self.count = 0
        rho = 0.9 * M / L
        make = machine or (lambda name: LeaseMachine(name, L, M))
        self.nodes = [
            Node(
                f"gw{i}",
                make(f"gw{i}"),
                offset=self.rng.uniform(0, 1e6),
                rate=self.rng.uniform(1 - rho, 1 + rho),
            )
            for i in range(n)
        ]
        self.terms: set[int] = set()
        self.quiet_from = math.inf  # no partition starts and no long delay after this

    def at(self, t: float, fn: Callable[[], None]) -> None:
        self.count += 1
        heapq.heappush(self.queue, (t, self.count, fn))

    def delay(self) -> float:
        if self.now < self.quiet_from and self.rng.random() < 0.05:
            return self.rng.uniform(0, 2 * L)  # stuck in a reconnect buffer, applied late
        return self.rng.uniform(0, 0.12 * L)

    def cut(self, node: Node, t: float) -> bool:
        return t < node.partitioned_until

    def request(
        self, node: Node, apply: Callable[[], object], done: Callable[[object], None]
    ) -> None:
        """Send now; the server applies it after a delay; the answer comes after another,
        unless the client's timeout fires first (then ``done(None)``)."""
        node.busy, node.op_id = True, node.op_id + 1
        op, sent = node.op_id, self.now
        answered = [False]

        def finish(result: object) -> None:
            if answered[0] or node.op_id != op:
                return
            answered[0] = True
            node.busy = False
            done(result)
            self.step(node)

        def arrive() -> None:
            result = apply()
            if not self.cut(node, self.now):
                self.at(self.now + self.delay(), lambda: finish(result))

        if not self.cut(node, sent):
            self.at(sent + self.delay(), arrive)
        self.at(sent + OP_TIMEOUT, lambda: finish(None))

    def step(self, node: Node) -> None:
        self.record()
        if node.busy:
            return
        m, local = node.machine, node.local(self.now)
        action = m.tick(local)
        if isinstance(action, Acquire | Renew):
            value = LeaseValue(node.name, action.term)
            revision = action.revision

            def done(result: object, local: float = local) -> None:
                answered = node.local(self.now)
                if result is None:
                    m.renewed(False, local, answered_at=answered)
                elif result == "conflict":
                    m.renewed(False, local, conflict=True, answered_at=answered)
                else:
                    assert isinstance(result, int)
                    m.renewed(True, local, result, answered_at=answered)
                    if m.active:
                        self.terms.add(m.term)

            self.request(node, lambda: self.kv.cas(revision, value) or "conflict", done)
            return
        if self.now >= node.next_poll:
            node.next_poll = self.now + POLL

            def seen(result: object) -> None:
                if isinstance(result, tuple):
                    m.observed(result[0], result[1], node.local(self.now))

            self.request(node, lambda: (self.kv.revision, self.kv.value), seen)
            return
        wake = (
            min(node.real(action.until), node.next_poll)
            if action.until < math.inf
            else node.next_poll
        )
        self.at(max(wake, self.now + 1e-6), lambda: self.step(node))

    def record(self) -> None:
        """Each machine that may send now: its window in real time, and at most one."""
        senders = []
        for node in self.nodes:
            if node.machine.may_send(node.local(self.now)):
                fence = node.machine.fence_at
                assert fence is not None
                node.windows.append((self.now, node.real(fence)))
                senders.append(node.name)
        assert len(senders) <= 1, f"t={self.now:.4f}: {senders} may all send"

    def partitions(self, until: float) -> None:
        t = self.rng.uniform(0, 2 * L)
        while t < until:
            self.at(t, self.partition)
            t += self.rng.uniform(0.5 * L, 4 * L)

    def partition(self) -> None:
        holders = [n for n in self.nodes if n.machine.active] or self.nodes
        victim = self.rng.choice(holders)
        victim.partitioned_until = self.now + self.rng.uniform(0.1 * L, 3 * L)

    def run(self, duration: float) -> None:
        for node in self.nodes:
            self.at(self.rng.uniform(0, 0.5), lambda node=node: self.step(node))
        self.quiet_from = duration - 8 * L
        self.partitions(self.quiet_from)
        t = 0.0
        while t < duration:  # samples between events, too
            self.at(t, self.record)
            t += 0.01
        while self.queue and self.queue[0][0] <= duration:
            self.now, _, fn = heapq.heappop(self.queue)
            fn()

    def overlaps(self) -> list[tuple[str, str, tuple[float, float], tuple[float, float]]]:
        return [
            (a.name, b.name, wa, wb)
            for i, a in enumerate(self.nodes)
            for b in self.nodes[i + 1 :]
            for wa in a.windows
            for wb in b.windows
            if wa[0] < wb[1] and wb[0] < wa[1]
        ]


def merged(windows: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for start, end in sorted(windows):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("seed", range(100))
def test_no_two_machines_may_ever_send_at_once(seed: int, n: int) -> None:
    sim = Sim(seed, n)
    sim.run(60 * L)
    for node in sim.nodes:
        node.windows = merged(node.windows)
    assert sim.overlaps() == []
    # Not vacuous: the partitions forced handovers; after the last one heals and the last
    # late write lands (5 L before the end at the latest) exactly one machine holds the lease.
    assert len(sim.terms) >= 3, sim.terms
    assert sum(node.machine.active for node in sim.nodes) == 1


def test_the_simulation_catches_a_fence_without_the_margin() -> None:
    # The check is only worth something if it fails for a broken rule: an active that fences
    # at lease + margin instead of lease - margin overlaps with the next holder.
    class Sloppy(LeaseMachine):
        @property
        def fence_at(self) -> float | None:
            fence = super().fence_at
            return None if fence is None else fence + 2 * self.margin_s + 0.1

        def may_send(self, now: float) -> bool:
            fence = self.fence_at
            return fence is not None and now < fence

    def run(seed: int) -> bool:
        sim = Sim(seed, 2, machine=lambda name: Sloppy(name, L, M))
        try:
            sim.run(60 * L)
        except AssertionError:
            return True
        return bool(sim.overlaps())

    assert any(run(seed) for seed in range(20))
