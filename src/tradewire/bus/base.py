"""The one interface every gateway↔worker transport implements.

The gateway and the workers speak in byte payloads on named subjects; what the bytes mean
(sequence numbers, intents, acks) is :mod:`tradewire.bus.protocol`'s business, so a transport
only moves bytes and says when its peer is gone. Subjects are dot-separated ASCII tokens
(``tw.md``, ``tw.intent.alpha``); a transport maps them onto its own naming (NATS subjects
as they are, iceoryx2 service names with ``/``).

Publishing never blocks and never waits for a slow receiver: a transport whose buffer for a
receiver is full drops (and counts) rather than stall the gateway's loop — the receiver sees
the gap in the sequence numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

Handler = Callable[[str, bytes], None]
"""``handler(subject, payload)``: called on the owner's event loop, one message at a time."""


class Bus(Protocol):
    """A connection to the bus from one process (the gateway, or one worker)."""

    async def start(self) -> None:
        """Connect (or open the shared memory); raises a TradewireError when it cannot."""

    async def close(self) -> None:
        """Flush what is queued and disconnect; idempotent."""

    def publish(self, subject: str, payload: bytes) -> None:
        """Send without blocking; a full buffer drops the message and counts it."""

    def subscribe(self, subject: str, handler: Handler) -> None:
        """Deliver every message on ``subject`` (exact match, or a trailing ``.>`` wildcard)."""

    @property
    def dropped(self) -> int:
        """Messages this end dropped because a buffer was full."""

    @property
    def dropped_by_worker(self) -> Mapping[str, int]:
        """The gateway's drops per worker, where the transport counts them per receiver
        (shared memory); empty where it cannot (NATS drops are the server's or this end's)."""

    @property
    def sender(self) -> str | None:
        """While a handler runs: the worker whose channel the message came from, where the
        transport binds channels to workers (shared memory); None where it cannot tell
        (over NATS the server's permissions on the subject are the proof)."""
