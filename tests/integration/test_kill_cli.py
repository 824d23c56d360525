"""``tradewire kill`` as a user runs it when things are not as expected."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def kill(*args: str, token_file: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "tradewire", "kill", "--token-file", str(token_file), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def private_token(tmp_path: Path) -> Path:
    path = tmp_path / "control.token"
    path.write_text("s3cret\n")
    path.chmod(0o600)
    return path


def test_a_url_that_only_starts_like_loopback_is_refused(tmp_path):
    # http://127.0.0.1:9091@evil/kill sends the token to host "evil"
    done = kill(
        "--url", "http://127.0.0.1:9091@evil.example/kill", token_file=private_token(tmp_path)
    )
    assert done.returncode == 2
    assert "loopback" in done.stderr
    assert "Traceback" not in done.stderr


def test_no_engine_running_names_the_url_in_one_line(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/kill"
    done = kill("--url", url, token_file=private_token(tmp_path))
    assert done.returncode == 1
    assert url in done.stderr
    assert "no engine" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_token_file_readable_by_others_is_not_sent(tmp_path):
    planted = tmp_path / "control.token"
    planted.write_text("planted\n")
    planted.chmod(0o644)
    done = kill(token_file=planted)
    assert done.returncode == 2
    assert "readable by others" in done.stderr


def test_the_token_is_found_in_the_configs_project_from_any_folder(tmp_path):
    # tradewire run writes control.token beside its journals, in the config's project; kill
    # looked for ./var/journal/control.token in whatever folder the shell was in.
    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    (project / "config" / "trading_apis.yaml").write_text("journal: {path: var/j}\n")
    token = project / "var" / "j" / "control.token"
    token.parent.mkdir(parents=True)
    token.write_text("secret-token-1\n")
    token.chmod(0o600)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "TRADEWIRE_CONTROL_TOKEN"}

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tradewire",
            "kill",
            "--url",
            f"http://127.0.0.1:{_free_port()}/kill",
        ],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(env, TRADEWIRE_CONFIG=str(project / "config" / "trading_apis.yaml")),
    )

    # The token was found: it got as far as the (absent) engine.
    assert done.returncode == 1, done.stderr
    assert "no engine answers" in done.stderr
    assert "secret-token-1" not in done.stderr + done.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
