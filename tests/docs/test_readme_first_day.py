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
