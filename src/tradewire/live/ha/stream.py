"""The JetStream stream one HA group's journal goes through (live/ha/replication.py), and
the NATS connection its publisher and mirror share or make.

Nothing here shows a URL's credentials: only its host and port reach a log line or a repr.
"""

from __future__ import annotations

import logging
import re

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from tradewire.bus.nats import redact_url
from tradewire.errors import TradewireError

log = logging.getLogger(__name__)

DAY_S = 86_400.0
_GROUP = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def stream_name(group: str) -> str:
    """``TW_JOURNAL_<GROUP>``: the stream one HA group's journal goes to."""
    return f"TW_JOURNAL_{_checked(group).upper()}"


def subject(group: str) -> str:
    """``tw.ha.<group>.journal``: the stream's one subject."""
    return f"tw.ha.{_checked(group)}.journal"


def _checked(group: str) -> str:
    if not _GROUP.match(group):
        raise TradewireError(f"HA group {group!r}: use 1-64 letters, digits, '_' or '-'")
    return group


async def ensure_stream(
    js: JetStreamContext,
    group: str,
    *,
    max_age_s: float = 7 * DAY_S,
    duplicate_window_s: float = 600.0,
    update: bool = False,
) -> api.StreamInfo:
    """The group's stream, created if absent (file storage, limits retention); with
    ``update`` an existing one gets ``max_age_s`` and ``duplicate_window_s`` if it differs."""
    name = stream_name(group)
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        info = await js.add_stream(
            name=name,
            subjects=[subject(group)],
            storage=api.StorageType.FILE,
            retention=api.RetentionPolicy.LIMITS,
            max_age=max_age_s,
            duplicate_window=duplicate_window_s,
        )
        log.info("HA: created stream %s (max_age %.0f s)", name, max_age_s)
        return info
    config = info.config
    if update and (config.max_age != max_age_s or config.duplicate_window != duplicate_window_s):
        info = await js.update_stream(
            config.evolve(max_age=max_age_s, duplicate_window=duplicate_window_s)
        )
    return info


async def connect(conn: Client | str, name: str) -> tuple[Client, bool]:
    """The client to use, and whether we made it (and so close it)."""
    if isinstance(conn, Client):
        return conn, False
    where = redact_url(conn)

    async def on_error(exc: Exception) -> None:
        log.debug("HA %s NATS %s: %s", name, where, type(exc).__name__)

    async def on_disconnected() -> None:
        log.warning("HA %s: NATS %s disconnected; reconnecting", name, where)

    async def on_reconnected() -> None:
        log.info("HA %s: NATS %s reconnected", name, where)

    try:
        nc = await nats.connect(
            conn,
            name=name,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.2,
            error_cb=on_error,
            disconnected_cb=on_disconnected,
            reconnected_cb=on_reconnected,
        )
    except Exception as exc:
        raise TradewireError(f"NATS {redact_url(conn)}: {type(exc).__name__}") from None
    return nc, True


def where(conn: Client | str) -> str:
    if isinstance(conn, str):
        return redact_url(conn)
    url = conn.connected_url
    return redact_url(url.geturl()) if url is not None else "nats://?"
