"""docs/strategy-api.md is checked against the code, so the reference cannot drift: every
public member of ``Strategy`` (hooks, actions, reads) is in it with its exact signature,
every name the package root exports is named, and every example block runs on the test kit.

When this fails after a change to the API, the message prints the rows to paste.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import tradewire
from tradewire import Strategy

DOC = Path(__file__).parents[2] / "docs" / "strategy-api.md"


def members() -> list[str]:
    """One row per public member of Strategy: `name(signature)` or `name` for a property."""
    rows = []
    for name, value in sorted(vars(Strategy).items()):
        if name.startswith("_") or name in ("bind", "Params"):
            continue
        if isinstance(value, property):
            rows.append(f"`{name}`")
        elif callable(value):
            rows.append(f"`{name}{signature(value)}`")
    return rows


def signature(fn: object) -> str:
    """``(symbol: str, *, limit_price: float | None = None) -> OrderHandle``, as written."""
    sig = inspect.signature(fn)  # type: ignore[arg-type]
    parts: list[str] = []
    star = False
    for p in list(sig.parameters.values())[1:]:  # not self
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        text = f"{p.name}: {p.annotation}"
        if p.default is not p.empty:
            text += f" = {p.default!r}"
        parts.append(text)
    return f"({', '.join(parts)}) -> {sig.return_annotation}"


def test_every_public_member_of_strategy_is_documented_with_its_signature() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [row for row in members() if row not in text]
    assert not missing, "docs/strategy-api.md lacks (paste these):\n" + "\n".join(missing)


def test_every_documented_member_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(\w+)[(`]", text, re.M))
    public = {n for n in vars(Strategy) if not n.startswith("_")}
    assert documented <= public | set(tradewire.__all__), documented - public


def test_every_export_of_the_package_root_is_named() -> None:
    text = DOC.read_text(encoding="utf-8")
    unnamed = [n for n in tradewire.__all__ if f"`{n}`" not in text and not n.startswith("__")]
    assert not unnamed, unnamed


def test_the_examples_run_on_the_test_kit() -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), {"__name__": "strategy_api_doc"})  # noqa: S102


def test_the_readmes_strategy_runs_on_the_test_kit_as_its_snippet_says() -> None:
    readme = (DOC.parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    strategy = next(b for b in blocks if "class Breakout(Strategy)" in b)
    kit = next(b for b in blocks if "run_on_events(" in b)
    exec(compile(strategy + "\n" + kit, "README.md", "exec"), {"__name__": "readme"})  # noqa: S102
