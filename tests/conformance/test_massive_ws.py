"""massive (the current official Polygon/Massive SDK) against our feed simulator."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import massive
import massive.exceptions
import massive.websocket.models


def _cases():
    path = Path(__file__).with_name("sdk_feed_cases.py")
    spec = importlib.util.spec_from_file_location("sdk_feed_cases_massive", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


cases = _cases()


async def test_massive_websocket_client_with_host_changed_receives_typed_events():
    await cases.receive_typed_events(massive)


async def test_massive_websocket_client_with_wrong_key_raises_its_auth_error():
    await cases.wrong_key_raises_auth_error(massive)
