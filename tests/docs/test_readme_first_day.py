"""What a new user meets on the first day with the README: its commands must work as pasted.

Each test reads README.md itself, so the docs and the code cannot drift apart silently.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, f"README.md has no section {title!r}"
    return match.group(1)


def test_the_folders_the_readme_examples_write_are_ignored_by_git() -> None:
    # `tradewire record --out data/rec-1` and `tradewire backtest --out results/run-1`.
    for path in ("data/rec-1/manifest.json", "results/run-1/report.json"):
        done = subprocess.run(
            ["git", "check-ignore", "-q", path], cwd=ROOT, check=False, timeout=30
        )
        assert done.returncode == 0, f"{path} would dirty the checkout"


GETS_THE_COMMAND = ("source .venv/bin/activate", ".venv/bin/tradewire", "pip install -e .")


def test_the_quick_start_says_how_to_get_the_command_before_using_it() -> None:
    # `./run.sh` puts `tradewire` in .venv/bin, which is not on PATH: every `tradewire …`
    # of the README was "command not found" until the Quick start said so.
    quick_start = readme_section("Quick start")
    first_use = quick_start.index("`tradewire ")
    said_at = [quick_start.find(way) for way in GETS_THE_COMMAND]
    assert any(0 <= at < first_use for at in said_at), quick_start[:first_use]


def test_run_sh_help_shows_the_options_of_tradewire_run_and_where_the_command_is() -> None:
    done = subprocess.run(
        [str(ROOT / "run.sh"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "usage: tradewire run" in done.stdout
    assert "--duration" in done.stdout
    assert f"source {ROOT}/.venv/bin/activate" in done.stdout
