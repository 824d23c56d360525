"""The package root is the strategy API: importing it costs no event loop, WebSocket, HTTP
parser or config validation; the clients are still one import away, loaded on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tradewire


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


def test_the_strategy_api_imports_no_io_stack() -> None:
    out = _run(
        "import tradewire; from tradewire import Strategy; import sys; "
        "print(sorted(m for m in ('asyncio','picows','httptools','pydantic') if m in sys.modules))"
    )
    assert out == "[]"


def test_the_clients_are_still_importable_from_the_root_and_from_clients() -> None:
    out = _run(
        "import sys; from tradewire import AlpacaClient, PolygonClient; "
        "import tradewire.clients as c; "
        "assert AlpacaClient is c.AlpacaClient and PolygonClient is c.PolygonClient; "
        "print(AlpacaClient.__module__, PolygonClient.__module__)"
    )
    assert out == "tradewire.venues.alpaca.client tradewire.venues.polygon.client"


def test_every_name_in_all_resolves() -> None:
    for name in tradewire.__all__:
        assert getattr(tradewire, name) is not None, name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        tradewire.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
