"""Bad config input must be one clear ``ConfigError`` line, never silently accepted.

Each case here used to pass unnoticed (PyYAML keeps the last duplicate key, pydantic's lax
mode turns ``'100'`` into ``100.0``, ``.inf`` disables a risk limit) or crash with a
traceback (a non-UTF-8 file). The numeric checks walk every model under ``AppConfig`` so
that a field added later cannot slip back into lax parsing unnoticed.
"""

from __future__ import annotations

import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from tradewire.app.config import AppConfig, load_config
from tradewire.errors import ConfigError

NumericLeaf = tuple[tuple[str, ...], type, str, int]


def _strip_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _base_type(annotation: Any) -> Any:
    if typing.get_origin(annotation) is typing.Annotated:
        return typing.get_args(annotation)[0]
    return annotation


def _numeric_leaves(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[NumericLeaf]:
    """Every int/float setting under ``model``: (path, type, shape, length) with shape
    ``scalar``, ``list`` or ``tuple``, so each can be fed a bad value on its own."""
    leaves: list[NumericLeaf] = []
    for name, field in model.model_fields.items():
        path = (*prefix, name)
        ann = _base_type(_strip_optional(field.annotation))
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            leaves.extend(_numeric_leaves(ann, path))
        elif ann in (int, float):
            leaves.append((path, ann, "scalar", 1))
        elif typing.get_origin(ann) is list:
            inner = _base_type(typing.get_args(ann)[0])
            if inner in (int, float):
                leaves.append((path, inner, "list", 1))
        elif typing.get_origin(ann) is tuple:
            inners = [_base_type(a) for a in typing.get_args(ann)]
            if inners and all(i in (int, float) for i in inners):
                leaves.append((path, inners[0], "tuple", len(inners)))
    return leaves


LEAVES = _numeric_leaves(AppConfig)
FLOAT_LEAVES = [leaf for leaf in LEAVES if leaf[1] is float]


def _nested(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    data: Any = value
    for key in reversed(path):
        data = {key: data}
    return typing.cast(dict[str, Any], data)


def _write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def test_walker_finds_the_numeric_settings() -> None:
    # Guards the parametrized tests below against silently testing nothing.
    paths = {".".join(leaf[0]) for leaf in LEAVES}
    assert {
        "risk.max_order_qty",
        "risk.max_open_orders",
        "tuning.engine_cpus",
        "tuning.nice",
    } <= paths
    assert {"journal.fsync_interval_ms", "run.duration_s", "simulator.rate"} <= {
        ".".join(leaf[0]) for leaf in FLOAT_LEAVES
    }


# --- 1. duplicate keys -----------------------------------------------------------------


def test_duplicate_key_names_key_and_both_lines(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "mode: sim\nrisk:\n  max_order_qty: 10\n  max_open_orders: 5\n  max_order_qty: 20\n",
    )
    assert _error(path) == f"{path}: line 5: duplicate key 'max_order_qty' (first at line 3)"


def test_duplicate_top_level_section(tmp_path: Path) -> None:
    path = _write(tmp_path, "risk:\n  max_order_qty: 10\nmode: sim\nrisk:\n  max_open_orders: 5\n")
    assert _error(path) == f"{path}: line 4: duplicate key 'risk' (first at line 1)"


def test_duplicate_key_inside_a_list_item(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "strategies:\n  - path: a.py:A\n    symbols: [AAPL]\n    path: b.py:B\n",
    )
    assert _error(path) == f"{path}: line 4: duplicate key 'path' (first at line 2)"


def test_merge_keys_may_override_without_being_duplicates(tmp_path: Path) -> None:
    # ``<<`` merges are YAML's way to share settings; overriding one is not a typo.
    text = (
        "strategies:\n"
        "  - &one {path: a.py:A, symbols: [AAPL], params: {qty: 1}}\n"
        "  - <<: *one\n"
        "    params: {qty: 2}\n"
    )
    config = load_config(_write(tmp_path, text, "merge.yaml"))
    assert [s.params for s in config.strategies] == [{"qty": 1}, {"qty": 2}]


# --- 2. quoted numbers -----------------------------------------------------------------


@pytest.mark.parametrize("quoted", ["'100'", '"100"', "'1e3'"])
def test_quoted_number_is_an_error_naming_the_path(tmp_path: Path, quoted: str) -> None:
    path = _write(tmp_path, f"risk:\n  max_order_qty: {quoted}\n")
    assert _error(path) == (
        f"{path}: risk.max_order_qty: Input should be a valid number, not a quoted string"
    )


def test_quoted_integer_is_an_error_naming_the_path(tmp_path: Path) -> None:
    path = _write(tmp_path, "risk:\n  max_open_orders: '50'\n")
    assert _error(path) == (
        f"{path}: risk.max_open_orders: Input should be a valid integer, not a quoted string"
    )


@pytest.mark.parametrize("leaf", LEAVES, ids=lambda leaf: ".".join(leaf[0]))
def test_every_numeric_setting_rejects_a_quoted_string(tmp_path: Path, leaf: NumericLeaf) -> None:
    path_keys, _kind, shape, length = leaf
    value: Any = "1" if shape == "scalar" else ["1"] * length
    path = _write(tmp_path, yaml.safe_dump(_nested(path_keys, value)))
    message = _error(path)
    dotted = ".".join(path_keys)
    assert f"{path}: {dotted}" in message
    assert "not a quoted string" in message


def test_plain_yaml_numbers_still_work(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "risk:\n"
        "  max_order_qty: 100\n"  # int where a float is expected
        "  max_order_notional: 100.5\n"
        "  max_position_qty: 1e3\n"  # YAML 1.2 float that PyYAML alone reads as a string
        "  max_gross_exposure: 2.5E+5\n"
        "  max_daily_loss: 1_000\n"
        "  max_open_orders: 50\n"
        "run:\n  duration_s: 0\n",
    )
    risk = load_config(path).risk
    assert risk.max_order_qty == 100.0
    assert isinstance(risk.max_order_qty, float)
    assert risk.max_order_notional == 100.5
    assert risk.max_position_qty == 1000.0
    assert risk.max_gross_exposure == 250_000.0
    assert risk.max_daily_loss == 1000.0
    assert risk.max_open_orders == 50


# --- 3. .inf / .nan --------------------------------------------------------------------


@pytest.mark.parametrize("literal", [".inf", "-.inf", ".nan", ".Inf", ".NaN"])
def test_non_finite_risk_limit_is_an_error(tmp_path: Path, literal: str) -> None:
    path = _write(tmp_path, f"risk:\n  max_daily_loss: {literal}\n")
    assert _error(path) == f"{path}: risk.max_daily_loss: Input should be a finite number"


@pytest.mark.parametrize("leaf", FLOAT_LEAVES, ids=lambda leaf: ".".join(leaf[0]))
def test_every_float_setting_rejects_infinity(tmp_path: Path, leaf: NumericLeaf) -> None:
    path = _write(tmp_path, yaml.safe_dump(_nested(leaf[0], float("inf"))))
    assert _error(path) == f"{path}: {'.'.join(leaf[0])}: Input should be a finite number"


# --- 4. encoding -----------------------------------------------------------------------


def test_non_utf8_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"mode: sim\nrisk:\n  max_order_qty: 10 \xff\n")
    assert _error(path) == f"{path}: not UTF-8 text (byte 0xff at offset 36)"


def test_shipped_config_still_loads() -> None:
    shipped = Path(__file__).resolve().parents[3] / "config" / "trading_apis.yaml"
    config = load_config(shipped)
    assert config.risk.max_order_qty == 1000.0
    assert config.strategies


# --- the command line ------------------------------------------------------------------

CLI_CASES = {
    "duplicate": (
        b"mode: sim\nrisk:\n  max_order_qty: 10\n  max_order_qty: 20\n",
        "{path}: line 4: duplicate key 'max_order_qty' (first at line 3)",
    ),
    "quoted": (
        b"mode: sim\nrisk:\n  max_order_qty: '100'\n",
        "{path}: risk.max_order_qty: Input should be a valid number, not a quoted string",
    ),
    "inf": (
        b"mode: sim\nrisk:\n  max_order_qty: .inf\n",
        "{path}: risk.max_order_qty: Input should be a finite number",
    ),
    "not_utf8": (
        b"mode: sim\n# caf\xe9\n",
        "{path}: not UTF-8 text (byte 0xe9 at offset 15)",
    ),
}


TRADEWIRE_RUN = [sys.executable, "-m", "tradewire", "run"]


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_run_rejects_bad_config_with_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    content, template = CLI_CASES[case]
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(content)
    result = subprocess.run(
        [*TRADEWIRE_RUN, "--config", str(bad), "--no-panel", "--duration", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    expected = template.format(path=bad)
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"tradewire run: configuration error: {expected}\n"
