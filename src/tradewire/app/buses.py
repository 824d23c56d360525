"""Bus URLs to transports: ``shm://NAME`` (this machine, shared memory), ``nats://HOST:PORT``.

NATS credentials come from the environment, never from the URL or the config file, so
neither ever holds a secret. Each process logs in as itself: the gateway as its own user
(``gateway.nats.user``, password in ``$gateway.nats.password_env``), a worker as its name
(password in ``$TRADEWIRE_NATS_PASSWORD``); nats-server's permissions fence each worker to
its own subjects (:mod:`tradewire.bus.nats_auth`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tradewire.app.config import GatewayNatsConfig
from tradewire.bus.base import Bus
from tradewire.errors import ConfigError

log = logging.getLogger("tradewire.gateway")

NATS_PASSWORD_ENV = "TRADEWIRE_NATS_PASSWORD"  # noqa: S105 - a variable name
SHM_TRANSPORT_ENV = "TRADEWIRE_SHM_TRANSPORT"  # shm:// over "ring" (default) or "iceoryx2"


@dataclass(frozen=True)
class NatsLogin:
    """How one process authenticates to nats-server; all None: no authentication."""

    user: str | None = None
    password: str | None = field(default=None, repr=False)
    nkey_seed_file: Path | None = None


def gateway_nats_login(config: GatewayNatsConfig, env: Mapping[str, str]) -> NatsLogin:
    """The gateway's login, or a ConfigError (one line) when it would serve NATS unguarded.

    Refusing is the default because an unauthenticated server lets anyone who reaches its
    port read every fill and trade as any worker; ``allow_unauthenticated`` says that is
    meant (a closed network, a test), and :func:`warn_unauthenticated` says it aloud.
    """
    if config.nkey_seed_file is not None:
        return NatsLogin(nkey_seed_file=config.nkey_seed_file)
    password = env.get(config.password_env, "").strip()
    if password:
        return NatsLogin(config.user, password)
    if config.allow_unauthenticated:
        return NatsLogin()
    raise ConfigError(
        f"gateway.nats: no NATS credentials: set ${config.password_env} (the password of NATS "
        f"user {config.user!r}) or gateway.nats.nkey_seed_file, or set "
        "gateway.nats.allow_unauthenticated: true to let anyone who reaches the server read "
        "every fill and trade as any worker"
    )


def warn_unauthenticated(config: GatewayNatsConfig, login: NatsLogin) -> None:
    if login == NatsLogin():
        log.warning(
            "NATS %s: serving workers WITHOUT authentication (gateway.nats.allow_unauthenticated):"
            " anyone who reaches it reads every fill and trades as any worker",
            _host(config.url),
        )


def worker_nats_login(
    name: str, env: Mapping[str, str], nkey_seed_file: Path | None = None
) -> NatsLogin:
    """A worker logs in as its own name; with no password it tries without (and an
    authenticating server refuses it, which :meth:`NatsBus.start` reports in one line)."""
    if nkey_seed_file is not None:
        return NatsLogin(nkey_seed_file=nkey_seed_file)
    password = env.get(NATS_PASSWORD_ENV, "").strip()
    return NatsLogin(name, password) if password else NatsLogin()


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}"


def make_bus(
    url: str,
    *,
    role: str,
    worker: str | None = None,
    login: NatsLogin | None = None,
    busy_poll: bool = False,
    buffer: int = 4096,
) -> Bus:
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise ConfigError(
            f"bus URL {parts.scheme}://…: put the password in ${NATS_PASSWORD_ENV}, not the URL"
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

        login = login or NatsLogin()
        return NatsBus(
            url,
            name=f"tradewire-{role}" + (f"-{worker}" if worker else ""),
            user=login.user,
            password=login.password,
            nkey_seed_file=login.nkey_seed_file,
        )
    raise ConfigError(f"bus URL {url!r}: use shm://NAME or nats://HOST:PORT")
