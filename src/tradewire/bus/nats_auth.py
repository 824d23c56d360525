"""nats-server authorization for tradewire: one NATS user per worker, fenced by the server.

Why the server and not the gateway: a worker that holds the one shared token could read
every market frame, every other worker's fills and acks (``tw.upd.<other>``), and publish
intents on another worker's subject. Checks of our own on the subject cannot stop the reads,
and a subject is only an identity if someone other than the sender vouches for it. So each
worker is a nats-server user named as the worker, whose permissions allow exactly:

* publish: ``tw.hello.<name>`` (hellos, heartbeats, byes) and ``tw.intent.<name>``;
* subscribe: ``tw.md`` (market data), ``tw.ctl`` (heartbeat, halt) and ``tw.upd.<name>``.

The gateway's user has no ``permissions`` block: every right. Every worker-specific subject
carries the worker's name (:mod:`tradewire.bus.protocol`), so the gateway attributes an
intent by its subject and the server guarantees the subject.

:func:`render_authorization` writes the ``authorization { users: [...] }`` block for a
config file. A password is either written in (the test server's 0600 file) or, for a server
an operator runs, referenced as ``$ENV_VAR``: nats-server resolves an unquoted ``$NAME`` it
does not find in the file from its own environment, so the printed snippet holds no secret.
Sans-I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from tradewire.bus import protocol as p
from tradewire.errors import TradewireError

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
WORKER_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What a worker may be called: it is a NATS subject token and a NATS user name."""


@dataclass(frozen=True)
class NatsUser:
    """One user of the server: ``worker=None`` is the gateway (every right).

    Exactly one of ``password`` (written into the file), ``password_env`` (referenced as
    ``$NAME``, resolved by nats-server from its environment) or ``nkey`` (a public ``U…`` key)
    says how it authenticates. ``password`` is never shown by ``repr``.
    """

    name: str
    worker: str | None = None
    password: str | None = field(default=None, repr=False)
    password_env: str | None = None
    nkey: str | None = None

    def __post_init__(self) -> None:
        given = [x for x in (self.password, self.password_env, self.nkey) if x is not None]
        if len(given) != 1:
            raise TradewireError(
                f"NATS user {self.name!r}: give exactly one of password, password_env or nkey"
            )
        if self.worker is not None and not WORKER_NAME.fullmatch(self.worker):
            raise TradewireError(f"NATS worker {self.worker!r}: letters, digits, - and _ only")
        if self.password_env is not None and not _ENV_NAME.fullmatch(self.password_env):
            raise TradewireError(f"NATS user {self.name!r}: {self.password_env!r} is no variable")


def worker_permissions(worker: str) -> dict[str, dict[str, list[str]]]:
    """What a worker's user may do: its own subjects, market data and the gateway's broadcasts."""
    return {
        "publish": {"allow": [p.hello_subject(worker), p.intent_subject(worker)]},
        "subscribe": {"allow": [p.MD, p.CTL, p.update_subject(worker)]},
    }


def render_authorization(users: Sequence[NatsUser]) -> str:
    """The ``authorization`` block of a nats-server config file for ``users``.

    JSON strings are valid NATS config strings, so values are written with :func:`json.dumps`;
    an environment reference is written bare (``$NAME``), which is what makes nats-server look
    it up instead of taking it literally.
    """
    names = [u.name for u in users if u.nkey is None]
    if len(set(names)) != len(names):
        raise TradewireError("NATS users: a name appears twice")
    lines = ["authorization {", "  users: ["]
    for user in users:
        if user.nkey is not None:
            fields = [f"nkey: {json.dumps(user.nkey)}"]
        else:
            secret = (
                f"${user.password_env}"
                if user.password_env is not None
                else json.dumps(user.password)
            )
            fields = [f"user: {json.dumps(user.name)}", f"password: {secret}"]
        if user.worker is not None:
            fields.append(f"permissions: {json.dumps(worker_permissions(user.worker))}")
        lines.append("    {" + ", ".join(fields) + "}")
    lines += ["  ]", "}"]
    return "\n".join(lines)
