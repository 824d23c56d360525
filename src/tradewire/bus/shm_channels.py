"""A worker's channels as the gateway holds them, and how a channel fails.

A worker is not trusted: whatever it does to its channels (a head no writer makes, a
wake-up that cannot be sent, a descriptor that is not what it should be) is a
:class:`ChannelFault`, which ends that worker with one line and is counted, never the
gateway and never another worker; a record that cannot be read is skipped and counted, and
reading goes on with the next one.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Protocol

from tradewire.errors import TradewireError


class ChannelFault(TradewireError):
    """A channel's other end broke the channel's rules: that channel cannot be used again."""


class ChannelClosed(ChannelFault):
    """The other end closed its channel: a worker that exits closes its end, sometimes
    before its goodbye is read. It ends the channel like a fault, but is no fault."""


class Outbound(Protocol):
    """The writing end of one direction."""

    @property
    def wakes_skipped(self) -> int:
        """Wake-ups not sent because the reader had too many unread (it reads its ring
        on the next one anyway): a slow or hostile reader, never a blocked writer."""

    def put(self, subject: bytes, payload: bytes) -> bool:
        """Queue one message and wake the reader; False (nothing queued) when full.
        Raises :class:`ChannelFault` when the reader's end is broken."""

    def close(self) -> None: ...


class Inbound(Protocol):
    """The reading end of one direction."""

    fd: int | None
    """The descriptor that becomes readable when a message waits; None when busy-polling."""

    @property
    def skipped(self) -> int:
        """Messages read but refused (unreadable), each skipped on its own."""

    def clear_wake(self) -> None:
        """Consume the wake-up *before* draining, so a message written meanwhile re-signals.
        Never waits; raises :class:`ChannelFault` when the wake-up itself is broken."""

    def drain(self, sink: list[tuple[str, bytes]], limit: int) -> int:
        """Move up to ``limit`` messages into ``sink``; returns how many. Raises
        :class:`ChannelFault` (what was read before it is in ``sink``) on a broken channel."""

    def close(self) -> None: ...


@dataclass(eq=False)
class Peer:
    """One worker's connection as the gateway sees it."""

    name: str
    conn: socket.socket
    down: Outbound
    up: Inbound
    dropped: int = field(default=0)
    skipped_told: bool = field(default=False)  # its first skipped record was logged
    gone: bool = field(default=False)
