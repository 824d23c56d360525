"""Integration fixtures: real servers on 127.0.0.1 port 0, on asyncio and on uvloop."""

from __future__ import annotations

import asyncio
import logging

import pytest
import uvloop


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, object]:
    # Every integration test runs on both loops: uvloop in production, asyncio as reference.
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest.fixture(autouse=True)
def _quiet_picows(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="picows")


async def wait_until(predicate, timeout_s: float = 5.0, interval_s: float = 0.005) -> None:
    """Poll a condition; fail with a clear message instead of sleeping a fixed time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s: {predicate}")
        await asyncio.sleep(interval_s)


@pytest.fixture
def until():
    return wait_until
