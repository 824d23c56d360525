"""The contenders the bench starts as subprocesses are package data, not modules: no
``__init__.py``, shipped by pyproject's package-data, and imported by nothing in tradewire."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from tradewire.bench import CONTENDERS, contender

SRC = Path(__file__).parents[3] / "src" / "tradewire"
SHIPPED = ("floor.c", "floor_py.py", "sdk_baseline.py", "backtest_nautilus.py")


@pytest.mark.parametrize("name", SHIPPED)
def test_each_contender_is_a_file_the_bench_can_start(name: str) -> None:
    assert contender(name).is_file()


def test_an_unknown_contender_is_an_error() -> None:
    with pytest.raises(FileNotFoundError, match=r"no_such\.py"):
        contender("no_such.py")


def test_contenders_is_not_a_package_and_ships_as_package_data() -> None:
    assert not (CONTENDERS / "__init__.py").exists()
    pyproject = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text())
    data = pyproject["tool"]["setuptools"]["package-data"]["tradewire"]
    for path in CONTENDERS.iterdir():
        if path.suffix in (".py", ".c"):
            assert any(Path("tradewire", path.relative_to(SRC)).match(g) for g in data), path


def test_nothing_in_tradewire_imports_a_contender() -> None:
    for path in SRC.rglob("*.py"):
        if CONTENDERS in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            assert not any("contenders" in n.split(".") for n in names), path
