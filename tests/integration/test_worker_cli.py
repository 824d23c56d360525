"""``tradewire worker`` and ``tradewire gateway`` refuse bad input in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
STRATEGY = f"{ROOT}/examples/mean_reversion.py:MeanReversion"


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        ((), 2, "--gateway URL is required"),
        (("--gateway", "http://x", "--strategy", STRATEGY, "--symbols", "AAPL"), 2, "shm://NAME"),
        (
            ("--gateway", "nats://u:p@127.0.0.1:4222", "--strategy", STRATEGY, "--symbols", "AAPL"),
            2,
            "not the URL",
        ),
        (
            ("--gateway", "shm://nobody-here", "--strategy", STRATEGY, "--symbols", "AAPL"),
            1,
            "no gateway at",
        ),
        (("--gateway", "shm://x", "--strategy", STRATEGY, "--symbols", " "), 2, "--symbols"),
        (
            ("--gateway", "shm://x", "--strategy", STRATEGY, "--symbols", "AAPL", "--name", "a b"),
            2,
            "--name",
        ),
    ],
)
def test_worker_bad_input(tmp_path, args, code, says):
    done = subprocess.run(
        [sys.executable, "-m", "tradewire", "worker", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == code, done.stderr
    assert says in done.stderr
    assert "Traceback" not in done.stderr
    assert "u:p" not in done.stderr  # credentials in a URL are never echoed
    assert done.stderr.count("\n") == 1, done.stderr


def test_gateway_without_a_bus_is_a_config_error(tmp_path, keyless_env):
    config = tmp_path / "c.yaml"
    config.write_text("mode: sim\nstrategies: []\n")
    done = subprocess.run(
        [sys.executable, "-m", "tradewire", "gateway", "--config", str(config), "--no-panel"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(keyless_env),
    )
    assert done.returncode == 2, done.stderr
    assert "gateway.shm and/or gateway.nats" in done.stderr
    assert "Traceback" not in done.stderr


def test_gateway_serving_nats_without_credentials_refuses_to_start(tmp_path, keyless_env):
    """Finding 6: it served NATS to anyone, without a word. Now no credentials and no
    ``allow_unauthenticated: true`` is a configuration error, before anything starts."""
    config = tmp_path / "c.yaml"
    config.write_text("mode: sim\nstrategies: []\ngateway: {nats: 'nats://127.0.0.1:9'}\n")
    env = {k: v for k, v in keyless_env.items() if not k.startswith("TRADEWIRE_NATS")}
    done = subprocess.run(
        [sys.executable, "-m", "tradewire", "gateway", "--config", str(config), "--no-panel"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    reason = [line for line in done.stderr.splitlines() if "gateway.nats" in line]
    assert len(reason) == 1, done.stderr
    assert "no NATS credentials: set $TRADEWIRE_NATS_PASSWORD" in reason[0]
    assert "allow_unauthenticated: true" in reason[0]
    assert "Traceback" not in done.stderr
    assert "serving workers" not in done.stdout


def test_gateway_prints_a_nats_authorization_that_nats_server_accepts(tmp_path, keyless_env):
    """``--nats-config``: the users block for an operator's nats-server, secrets by name."""
    from tradewire.bus.nats_server import find_nats_server

    config = tmp_path / "c.yaml"
    config.write_text("gateway: {nats: {url: 'nats://127.0.0.1:9', workers: {alpha: {}}}}\n")
    done = subprocess.run(
        [sys.executable, "-m", "tradewire", "gateway", "--config", str(config), "--nats-config"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=keyless_env,
    )
    assert done.returncode == 0, done.stderr
    assert "password: $TRADEWIRE_NATS_PASSWORD_ALPHA" in done.stdout
    auth = tmp_path / "auth.conf"
    auth.write_text(done.stdout)
    env = dict(keyless_env, TRADEWIRE_NATS_PASSWORD="a", TRADEWIRE_NATS_PASSWORD_ALPHA="b")
    checked = subprocess.run(
        [str(find_nats_server()), "-c", str(auth), "-t"],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert checked.returncode == 0, checked.stderr + checked.stdout
