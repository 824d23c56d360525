"""An in-process bus: the gateway and workers in one process (tests, a single-box demo).

Same contract as the shared-memory and NATS transports: each subscriber has its own bounded
queue, a full queue drops (and counts) instead of blocking the publisher, and handlers run
on the loop, never inside ``publish``.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Mapping
from dataclasses import dataclass, field

from tradewire.bus.base import Handler


@dataclass
class LocalHub:
    """What the ``LocalBus`` objects of one process share."""

    capacity: int = 4096
    subscribers: list[_Subscriber] = field(default_factory=list)


@dataclass
class _Subscriber:
    subject: str
    handler: Handler
    owner: LocalBus
    queue: collections.deque[tuple[str, bytes]] = field(default_factory=collections.deque)
    scheduled: bool = False

    def matches(self, subject: str) -> bool:
        if self.subject.endswith(".>"):
            return subject.startswith(self.subject[:-1])
        return subject == self.subject


class LocalBus:
    def __init__(self, hub: LocalHub) -> None:
        self.hub = hub
        self._dropped = 0
        self._closed = False

    async def start(self) -> None:
        self._closed = False

    async def close(self) -> None:
        self._closed = True
        self.hub.subscribers = [s for s in self.hub.subscribers if s.owner is not self]

    def publish(self, subject: str, payload: bytes) -> None:
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        for sub in self.hub.subscribers:
            if not sub.matches(subject):
                continue
            if len(sub.queue) >= self.hub.capacity:
                sub.owner._dropped += 1
                continue
            sub.queue.append((subject, payload))
            if not sub.scheduled:
                sub.scheduled = True
                loop.call_soon(_drain, sub)

    def subscribe(self, subject: str, handler: Handler) -> None:
        self.hub.subscribers.append(_Subscriber(subject, handler, self))

    @property
    def dropped(self) -> int:
        return self._dropped

    @property
    def dropped_by_worker(self) -> Mapping[str, int]:
        return {}  # one process: nothing is per worker

    @property
    def sender(self) -> str | None:
        return None


def _drain(sub: _Subscriber) -> None:
    sub.scheduled = False
    queue = sub.queue
    while queue:
        subject, payload = queue.popleft()
        sub.handler(subject, payload)
