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

KillHandler = Callable[[str, bool], Awaitable[dict[str, Any]]]
StatusHandler = Callable[[], dict[str, Any]]


def resolve_control_token(env_var: str, token_file: Path) -> str:
    """Return the token from ``env_var``, else create/read ``token_file`` (mode 0600)."""
    value = os.environ.get(env_var, "").strip()
    if value:
        return value
    if token_file.exists():
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
    """``POST /kill`` (body ``{"reason": str, "flatten": bool}``) and ``GET /status``."""

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
        app = web.Application()
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

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), self._token)

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
        result = await self._on_kill(reason, flatten)
        # 503 when orders or positions stayed live: a script must not read a partial kill
        # as success.
        return web.json_response(result, status=200 if result.get("ok", True) else 503)

    async def _status(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response(self._on_status())
