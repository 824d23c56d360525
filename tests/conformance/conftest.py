"""Conformance: the official vendor SDKs against our simulator, with only the URL changed."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # websockets >= 15 routes even ws://127.0.0.1 through HTTP(S)_PROXY (reference/polygon.md s5).
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="picows")
