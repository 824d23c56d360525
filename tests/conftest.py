"""Shared pytest fixtures: fixture file loading and the uvloop/asyncio loop matrix."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixture_bytes() -> FixtureLoader:
    return FixtureLoader()


class FixtureLoader:
    """``fixture_bytes("polygon/ws_quote.json")`` → the file's bytes, stripped."""

    def __call__(self, name: str) -> bytes:
        return (FIXTURES / name).read_bytes().strip()
