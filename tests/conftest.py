"""Shared fixtures: fixture files, the asyncio/uvloop loop matrix, condition waits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import uvloop

FIXTURES = Path(__file__).parent / "fixtures"


class FixtureLoader:
    """``fixture_bytes("polygon/ws_quote.json")`` → the file's bytes, stripped."""

    def __call__(self, name: str) -> bytes:
        return (FIXTURES / name).read_bytes().strip()


@pytest.fixture
def fixture_bytes() -> FixtureLoader:
    return FixtureLoader()


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, object]:
    # Every async test runs on both loops: uvloop in production, asyncio as the reference.
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest.fixture(autouse=True)
def _quiet_picows(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="picows")


async def wait_until(
    predicate: Callable[[], object], timeout_s: float = 5.0, interval_s: float = 0.005
) -> None:
    """Poll a condition; fail with a clear message instead of sleeping a fixed time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s: {predicate}")
        await asyncio.sleep(interval_s)


@pytest.fixture
def until() -> Callable[..., object]:
    return wait_until
