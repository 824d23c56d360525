"""The shared-memory bus against a hostile process of this machine: each test does the
hostile thing for real (a planted folder, a shrunk memfd, a pipe for an eventfd, bytes
written straight into a ring) against the real registry and ring code."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import stat
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

from tradewire.bus import shm_door
from tradewire.bus.ring import RingBus
from tradewire.bus.shm_registry import SHM_ROOT
from tradewire.errors import ConfigError


def bus_name() -> str:
    return f"h{uuid.uuid4().hex[:10]}"


@pytest.fixture
def planted() -> Iterator[Path]:
    """A name whose ``/dev/shm/tradewire-NAME`` folder someone else made first."""
    path = SHM_ROOT / f"tradewire-{bus_name()}"
    path.mkdir()
    yield path
    for child in path.iterdir():
        child.unlink()
    path.rmdir()


@pytest.mark.parametrize("role", ["gateway", "worker"])
async def test_a_folder_open_to_others_is_refused_with_one_line(
    planted: Path, role: Literal["gateway", "worker"]
) -> None:
    os.chmod(planted, 0o777)  # noqa: S103 - the planted folder under test
    worker = "w1" if role == "worker" else None
    bus = RingBus(planted.name.removeprefix("tradewire-"), role=role, worker=worker)
    with pytest.raises(ConfigError, match="writable by group or others") as err:
        await bus.start()
    assert "\n" not in str(err.value)
    assert str(planted) in str(err.value)
    assert not (planted / "gateway.sock").exists()
    await bus.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the folder away")
async def test_a_folder_owned_by_another_user_is_refused(planted: Path) -> None:
    os.chmod(planted, 0o700)
    os.chown(planted, 65534, 65534)
    bus = RingBus(planted.name.removeprefix("tradewire-"), role="gateway")
    with pytest.raises(ConfigError, match="owned by uid 65534") as err:
        await bus.start()
    assert "\n" not in str(err.value)
    assert not (planted / "gateway.sock").exists()
    await bus.close()


async def test_the_gateway_makes_its_folder_private() -> None:
    bus = RingBus(bus_name(), role="gateway")
    old = os.umask(0)
    try:
        await bus.start()
    finally:
        os.umask(old)
    try:
        st = os.lstat(bus.dir)
        assert stat.S_IMODE(st.st_mode) == 0o700
        assert st.st_uid == os.geteuid()
    finally:
        await bus.close()


SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin") or "python3"  # uid 65534 can run it
CONNECT_AS = """
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.settimeout(10)
try:
    s.send(json.dumps({"worker": "intruder"}).encode())
    print(repr(s.recv(1024)))
except (BrokenPipeError, ConnectionResetError):
    print(repr(b""))  # closed on us: refused
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a process as another user")
async def test_a_process_of_another_user_is_refused_with_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = RingBus(bus_name(), role="gateway")
    await bus.start()
    try:
        # As if the folder and socket let it through (the folder is 0700: they do not).
        os.chmod(bus.dir, 0o711)  # noqa: S103 - the hole under test
        os.chmod(bus.dir / "gateway.sock", 0o777)  # noqa: S103 - the hole under test
        proc = await asyncio.to_thread(  # the loop stays free to serve the registry
            subprocess.run,
            [SYSTEM_PYTHON, "-c", CONNECT_AS, str(bus.dir / "gateway.sock")],
            user=65534,
            capture_output=True,
            timeout=30,
            check=False,
        )
        out, err = proc.stdout, proc.stderr
        assert proc.returncode == 0, err
        assert out.strip() == b"b''"  # closed without an offer
        lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(lines) == 1
        assert "uid 65534" in lines[0]
        assert bus.workers == []
    finally:
        await bus.close()


def closed_by_peer(conn: socket.socket) -> bool:
    try:
        return conn.recv(1024) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


async def test_joins_left_half_done_are_bounded_and_expire(
    monkeypatch: pytest.MonkeyPatch, until: Callable[..., Any]
) -> None:
    monkeypatch.setattr(shm_door, "JOIN_TIMEOUT_S", 0.5)
    bus = RingBus(bus_name(), role="gateway")
    await bus.start()
    idle: list[socket.socket] = []
    try:
        for _ in range(shm_door.MAX_PENDING + 1):  # connect, then say nothing
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            conn.connect(str(bus.dir / "gateway.sock"))
            conn.setblocking(False)
            idle.append(conn)
        await until(lambda: closed_by_peer(idle[-1]), 2.0)  # one too many: closed at once
        await until(lambda: all(closed_by_peer(c) for c in idle[:-1]), 5.0)  # expired
        worker = RingBus(bus.name, role="worker", worker="w1")
        await worker.start()  # the registry still serves
        await until(lambda: bus.workers == ["w1"])
        await worker.close()
    finally:
        for conn in idle:
            conn.close()
        await bus.close()
