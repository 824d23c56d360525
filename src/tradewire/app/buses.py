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
        from tradewire.bus.shm import ShmBus

        return ShmBus(
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
