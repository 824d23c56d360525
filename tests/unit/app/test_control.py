"""The kill-switch endpoint is safe by default (issue 11, "the control plane")."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from tradewire.app.control import ControlServer, resolve_control_token
from tradewire.errors import ConfigError


def test_a_token_file_readable_by_others_is_refused(tmp_path: Path, monkeypatch):
    # A 0666 file planted by another user used to be trusted and halted the engine.
    monkeypatch.delenv("TW_TEST_TOKEN", raising=False)
    planted = tmp_path / "control.token"
    planted.write_text("planted\n")
    planted.chmod(0o666)
    with pytest.raises(ConfigError, match="readable by others"):
        resolve_control_token("TW_TEST_TOKEN", planted)


def test_a_fresh_token_file_is_private_and_reused(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("TW_TEST_TOKEN", raising=False)
    path = tmp_path / "control.token"
    token = resolve_control_token("TW_TEST_TOKEN", path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert resolve_control_token("TW_TEST_TOKEN", path) == token


async def _raw_request(port: int, head: bytes) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head)
    await writer.drain()
    async with asyncio.timeout(5):
        status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1])


@pytest.fixture
async def control():
    async def on_kill(reason: str, flatten: bool) -> dict[str, object]:
        return {"ok": True}

    server = ControlServer(
        host="127.0.0.1",
        port=0,
        token="s3cret",
        on_kill=on_kill,
        on_status=lambda: {"state": "ACTIVE"},
    )
    await server.start()
    yield server
    await server.stop()


async def test_a_non_ascii_bearer_token_is_401_not_500(control):
    head = (
        f"GET /status HTTP/1.1\r\nHost: 127.0.0.1:{control.port}\r\n".encode()
        + "Authorization: Bearer caf\u00e9\r\nConnection: close\r\n\r\n".encode("latin-1")
    )
    assert await _raw_request(control.port, head) == 401


async def test_a_foreign_host_header_is_refused(control):
    # DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example.
    head = (
        b"GET /status HTTP/1.1\r\nHost: evil.example\r\n"
        b"Authorization: Bearer s3cret\r\nConnection: close\r\n\r\n"
    )
    assert await _raw_request(control.port, head) == 403


async def test_the_right_token_and_a_loopback_host_are_answered(control):
    head = (
        f"GET /status HTTP/1.1\r\nHost: localhost:{control.port}\r\n".encode()
        + b"Authorization: Bearer s3cret\r\nConnection: close\r\n\r\n"
    )
    assert await _raw_request(control.port, head) == 200
