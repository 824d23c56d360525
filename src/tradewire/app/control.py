"""Kill switch over HTTP, bound to loopback and guarded by a bearer token.

An operator (or ``tradewire kill``) can halt trading without a terminal attached to the
engine. The token comes from the environment; when it is not set, a random one is written
to a 0600 file beside the journal, so only the user running the engine can read it.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from tradewire.errors import ConfigError
from tradewire.net.loopback import host_is_loopback

KillHandler = Callable[[str, bool, str | None], Awaitable[dict[str, Any]]]
"""``(reason, flatten, account)``: ``account`` None (or ``all``) for every account."""
StatusHandler = Callable[[], dict[str, Any]]


def check_private(token_file: Path) -> None:
    """Refuse a token file another user could have written or can read.

    A 0666 file planted by another user was trusted and let them halt the engine; one
    readable by others gives the kill switch away.

    Raises:
        ConfigError: not owned by this user, or readable or writable by group or others.
    """
    st = token_file.stat()
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise ConfigError(
            f"{token_file}: control token file is readable by others or not yours "
            f"(mode {st.st_mode & 0o777:o}, owner uid {st.st_uid}): delete it (a private one "
            "is written) or make it yours with mode 600"
        )


def resolve_control_token(env_var: str, token_file: Path) -> str:
    """Return the token from ``env_var``, else create/read ``token_file`` (mode 0600).

    Raises:
        ConfigError: the existing token file is not private (see :func:`check_private`).
    """
    value = os.environ.get(env_var, "").strip()
    if value:
        return value
    if token_file.exists():
        check_private(token_file)
        existing = token_file.read_text(encoding="utf-8").strip()
        if existing:
            return existing
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    return token


class ControlServer:
    """``POST /kill`` (body ``{"reason": str, "flatten": bool, "account": str}``; no account:
    every account) and ``GET /status``."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        token: str,
        on_kill: KillHandler,
        on_status: StatusHandler,
    ) -> None:
        self._host = host
        self._port = port
        self._token = token
        self._on_kill = on_kill
        self._on_status = on_status
        self._runner: web.AppRunner | None = None
        self.port = port

    def __repr__(self) -> str:
        return f"ControlServer(host={self._host!r}, port={self.port})"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._loopback_host])
        app.router.add_post("/kill", self._kill)
        app.router.add_get("/status", self._status)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        addresses = self._runner.addresses
        if addresses:
            self.port = int(addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _loopback_host(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not host_is_loopback(request.headers.get("Host", "")):
            return web.json_response({"error": "Host must be a loopback address"}, status=403)
        return await handler(request)

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        try:
            given = value.strip().encode("utf-8", "surrogateescape")
        except UnicodeError:
            return False
        # Bytes, so a non-ASCII token is a 401, not a TypeError and a 500.
        return scheme.lower() == "bearer" and hmac.compare_digest(given, self._token.encode())

    async def _kill(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"error": "unauthorized"}, status=401)
        try:
            body = await request.json() if request.can_read_body else {}
        except json.JSONDecodeError:
            return web.json_response({"error": "body must be JSON"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": "body must be a JSON object"}, status=400)
        reason = str(body.get("reason") or "kill switch via HTTP")
        flatten = bool(body.get("flatten", False))
        account = body.get("account")
        result = await self._on_kill(reason, flatten, None if account is None else str(account))
        # 503 when orders or positions stayed live: a script must not read a partial kill
        # as success.
        return web.json_response(result, status=200 if result.get("ok", True) else 503)

    async def _status(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response(self._on_status())
