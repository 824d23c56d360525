"""A worker's side of the registry join: the steps, in order, and what is undone on failure.

The gateway's side is :mod:`tradewire.bus.shm_door` (before a name) and
:class:`tradewire.bus.shm_registry.RegistryBus` (after). Every wait is bounded and on the
loop; a failure at any step closes what this join made (socket, channels) and is one
:class:`~tradewire.errors.TradewireError` line for the caller.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tradewire.bus.shm_channels import Inbound, Outbound
from tradewire.bus.shm_checks import close_all, recv_with_fds, same_user
from tradewire.errors import TradewireError

STEP_TIMEOUT_S = 5.0
Channels = tuple[Inbound, Outbound, dict[str, Any], list[int]]


async def join(
    path: Path,
    worker: str,
    transport: str,
    capacity: int,
    make: Callable[[int], Channels],
    welcomed: Callable[[Inbound, Outbound, list[int]], None],
    hello_sent: Callable[[list[int]], None],
) -> tuple[socket.socket, Inbound, Outbound]:
    """Join the gateway at ``path`` as ``worker``: (registry connection, down, up).

    1. name this worker; the gateway offers its buffer and names its transport;
    2. ``make`` the channels for the smaller buffer and send how to reach them (``hello_sent``
       is told once they went, or failed);
    3. the gateway's ``ok`` comes with descriptors it made for this worker: ``welcomed``.
    """
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ends: list[Inbound | Outbound] = []
    fds: list[int] = []
    try:
        sock.connect(str(path))
        same_user(sock, f"the process serving {path}")  # not another user's
        sock.setblocking(False)
        await loop.sock_sendall(sock, json.dumps({"worker": worker}).encode())
        offer = await asyncio.wait_for(loop.sock_recv(sock, 1024), STEP_TIMEOUT_S)
        if not offer:
            raise OSError("the gateway refused the name or closed")
        terms = json.loads(offer)
        if terms.get("transport") != transport:
            raise TradewireError(
                f"the gateway at {path.parent} serves shm:// over {terms.get('transport')}, "
                f"this worker over {transport}: set $TRADEWIRE_SHM_TRANSPORT alike"
            )
        down, up, fields, fds = make(min(capacity, int(terms["capacity"])))
        ends = [down, up]
        socket.send_fds(sock, [json.dumps(fields).encode()], fds)
        ack, given = await asyncio.wait_for(recv_with_fds(sock, 16, 2), STEP_TIMEOUT_S)
        if ack != b"ok":
            close_all(given)
            raise TradewireError(f"gateway at {path.parent} refused worker {worker!r}")
        welcomed(down, up, given)
    except BaseException as exc:
        for end in ends:
            end.close()
        sock.close()
        if isinstance(exc, OSError | TimeoutError | ValueError | KeyError):
            raise TradewireError(f"no gateway at {path}: {exc}") from exc
        raise
    finally:
        hello_sent(fds)
    return sock, down, up
