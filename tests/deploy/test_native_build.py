"""``pip install`` builds the native order path with the system's C compiler, and without one
the install still succeeds and tradewire runs its pure-Python path, saying so in one line
(issue 26). Real builds: ``pip wheel`` of the project's own files, once with ``cc`` and once
with a compiler that fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _wheel(tmp_path: Path, cc: str) -> zipfile.ZipFile:
    """The wheel pip builds from a copy of the project with ``CC=cc``."""
    project = tmp_path / "project"
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, project / name if project.exists() else _mkdir(project) / name)
    shutil.copytree(
        ROOT / "src",
        project / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.egg-info"),
    )
    out = tmp_path / "wheel"
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    done = subprocess.run(
        [*pip, "--disable-pip-version-check", "-w", str(out), str(project)],
        env=dict(os.environ, CC=cc),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = out.glob("tradewire-*.whl")
    return zipfile.ZipFile(wheel)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


@pytest.mark.timeout(240)
def test_pip_builds_the_extension_with_the_system_compiler(tmp_path: Path) -> None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler on this machine")
    names = _wheel(tmp_path, cc).namelist()
    assert any(
        n.startswith("tradewire/engine/native/_orderpath.") and n.endswith(".so") for n in names
    )


@pytest.mark.timeout(240)
def test_without_a_compiler_the_install_succeeds_and_the_engine_says_which_path_runs(
    tmp_path: Path,
) -> None:
    wheel = _wheel(tmp_path, "/bin/false")
    assert not any(n.endswith(".so") for n in wheel.namelist())
    assert "tradewire/engine/native/__init__.py" in wheel.namelist()
    # What such an install says (the wheel's files first on the path): one line, naming why
    # and how to get the native path; and its risk engine runs on the Python rules.
    site = tmp_path / "site"
    wheel.extractall(site)
    code = (
        "from tradewire.engine import native; print(native.notice()); "
        "from tradewire.engine.risk import RiskEngine; from tradewire.engine.config import "
        "RiskConfig; print(type(RiskEngine(RiskConfig()).core).__name__)"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRADEWIRE_NATIVE"}
    said = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(env, PYTHONPATH=str(site)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert said.returncode == 0, said.stderr
    line, core = said.stdout.strip().splitlines()
    assert line.startswith("order path: pure Python, the native one is off: not built")
    assert "pip install" in line
    assert core == "PyRiskCore"
