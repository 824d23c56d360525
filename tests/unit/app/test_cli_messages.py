"""The first lines a user reads: ``tradewire --help`` and configuration errors.

The README promises one line per configuration error, naming the file; these tests hold
the CLI to it (they start no venue: every input here is refused before anything runs).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tradewire.app.cli import main
from tradewire.app.yaml_load import load_yaml_file
from tradewire.errors import ConfigError

TRADEWIRE = [sys.executable, "-m", "tradewire"]


def run_with_config(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config" / "trading_apis.yaml"
    config.parent.mkdir()
    config.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if "KEY" not in k and "SECRET" not in k}
    return subprocess.run(
        [*TRADEWIRE, "run", "--config", str(config), "--no-panel", "--duration", "1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_describes_the_program_in_plain_words(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    head = capsys.readouterr().out.split("positional arguments")[0]
    assert "``" not in head  # reST markup of the module docstring
    assert not head.rstrip().endswith("|")  # its first line, cut mid-sentence
    assert "tradewire COMMAND --help" in " ".join(head.split())


def test_a_config_error_is_one_line_naming_the_file_and_key(tmp_path: Path) -> None:
    done = run_with_config(tmp_path, "risk:\n  max_ordr_qty: 5\n")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "trading_apis.yaml: risk.max_ordr_qty: Extra inputs are not permitted" in lines[0]


def test_a_validator_message_has_no_pydantic_prefix(tmp_path: Path) -> None:
    # A model validator's ValueError: pydantic prefixes its message with "Value error, ".
    done = run_with_config(tmp_path, "broker: {base_url: 'ftp://example.com'}\n")
    assert done.returncode == 2
    assert "Value error" not in done.stderr, done.stderr
    assert "base_url must start with http:// or https://" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_yaml_syntax_error_names_the_file_and_line_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("risk:\n  max_order_qty: [1, 2\nfeed: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_yaml_file(path)
    message = str(error.value)
    assert "<unicode string>" not in message
    assert message.startswith(f"{path}: line ")
    assert "\n" not in message


def test_a_yaml_syntax_error_in_run_is_one_line(tmp_path: Path) -> None:
    done = run_with_config(tmp_path, "risk: [\n")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "trading_apis.yaml: line " in lines[0]
    assert "<unicode string>" not in lines[0]
