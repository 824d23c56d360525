"""The tradewire-baseline contender runs another checkout's engine, or says why it cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

import tradewire
from tradewire.bench import baseline


def test_without_the_variable_it_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(baseline.ENV, raising=False)
    assert baseline.path() is None
    assert baseline.ENV in (baseline.available() or "")


def test_a_folder_without_the_package_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(baseline.ENV, str(tmp_path))
    assert "holds no tradewire package" in (baseline.available() or "")


def test_a_checkouts_src_folder_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    src = Path(tradewire.__file__).parents[1]
    monkeypatch.setenv(baseline.ENV, str(src))
    assert baseline.available() is None
    assert baseline.path() == src
