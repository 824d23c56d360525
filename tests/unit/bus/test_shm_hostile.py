"""The shared-memory bus against a hostile process of this machine: each test does the
hostile thing for real (a planted folder, a shrunk memfd, a pipe for an eventfd, bytes
written straight into a ring) against the real registry and ring code."""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest

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
