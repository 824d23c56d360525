"""Bus URLs to transports: ``shm://NAME`` (this machine, shared memory), ``nats://HOST:PORT``.

Tokens come from the environment (``TRADEWIRE_NATS_TOKEN`` by default), never from the URL
or the config file, so neither ever holds a secret.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from tradewire.bus.base import Bus
from tradewire.errors import ConfigError

NATS_TOKEN_ENV = "TRADEWIRE_NATS_TOKEN"  # noqa: S105 - a variable name
SHM_TRANSPORT_ENV = "TRADEWIRE_SHM_TRANSPORT"  # shm:// over "ring" (default) or "iceoryx2"


def make_bus(
    url: str,
    *,
    role: str,
    worker: str | None = None,
    token_env: str = NATS_TOKEN_ENV,
    nkey_seed_file: Path | None = None,
    busy_poll: bool = False,
    buffer: int = 4096,
) -> Bus:
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise ConfigError(
            f"bus URL {parts.scheme}://…: put credentials in ${token_env}, not the URL"
        )
    if parts.scheme == "shm":
        name = (parts.netloc + parts.path).strip("/")
        if not name or not name.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(f"bus URL {url!r}: shm://NAME, NAME letters, digits, - and _")
        from tradewire.bus.iceoryx import IoxBus
        from tradewire.bus.ring import RingBus

        # The mmap ring by default: end to end through a gateway it measured faster than
        # iceoryx2 (docs/performance.md, issue 13); iceoryx2 on request. The gateway tells
        # each joining worker which one it serves, and a worker on the other one is refused.
        wanted = os.environ.get(SHM_TRANSPORT_ENV, "ring").strip() or "ring"
        if wanted not in ("ring", "iceoryx2"):
            raise ConfigError(f"${SHM_TRANSPORT_ENV}={wanted!r}: ring or iceoryx2")
        kind = IoxBus if wanted == "iceoryx2" else RingBus
        return kind(
            name,
            role=role,  # type: ignore[arg-type]
            worker=worker,
            busy_poll=busy_poll,
            capacity=max(1 << (buffer - 1).bit_length(), 16),
        )
    if parts.scheme == "nats":
        if not parts.hostname or parts.port is None:
            raise ConfigError(f"bus URL {url!r}: nats://HOST:PORT")
        from tradewire.bus.nats import NatsBus

        token = os.environ.get(token_env, "").strip() or None
        return NatsBus(
            url,
            name=f"tradewire-{role}" + (f"-{worker}" if worker else ""),
            token=token,
            nkey_seed_file=nkey_seed_file,
        )
    raise ConfigError(f"bus URL {url!r}: use shm://NAME or nats://HOST:PORT")
