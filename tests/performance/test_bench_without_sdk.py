"""``tradewire bench`` on a base install (no ``[bench]``/``[sdk]`` extra).

The venv has the SDKs, so their absence is simulated for real: a ``sitecustomize.py`` put
first on ``PYTHONPATH`` installs a ``sys.meta_path`` finder that refuses massive, polygon,
alpaca and matplotlib, in the bench and in every process it spawns (they inherit the
environment). No timing is asserted (noisy machines).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

_BLOCKER = '''
import sys


class _NotInstalled:
    """Answers as if the SDK extras were never installed."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {"alpaca", "massive", "polygon", "matplotlib"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NotInstalled())
'''


@pytest.fixture
def base_install_env(tmp_path: Path, keyless_env: dict[str, str]) -> dict[str, str]:
    hook = tmp_path / "no_sdk"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_BLOCKER, encoding="utf-8")
    path = os.pathsep.join(p for p in (str(hook), keyless_env.get("PYTHONPATH", "")) if p)
    return dict(keyless_env, PYTHONPATH=path)


def _bench(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradewire", "bench", "--quick", *args],
        env=env,
        timeout=180,
        capture_output=True,
        text=True,
    )


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def test_the_blocker_really_hides_the_sdks(base_install_env):
    # Arrange / Act
    run = subprocess.run(
        [sys.executable, "-c", "import alpaca"],
        env=base_install_env,
        timeout=60,
        capture_output=True,
        text=True,
    )

    # Assert
    assert run.returncode == 1
    assert "ModuleNotFoundError: No module named 'alpaca'" in run.stderr


def test_tick_to_trade_skips_the_sdk_contender_and_the_plot_and_runs_ours(
    tmp_path, base_install_env
):
    # Arrange
    out, png = tmp_path / "bench.json", tmp_path / "bench.png"

    # Act
    run = _bench(
        base_install_env,
        "--contenders",
        "tradewire,sdk",
        "--triggers",
        "20",
        "--json",
        str(out),
        "--plot",
        str(png),
    )

    # Assert
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    line = _one_line(run.stderr)
    assert "tradewire[bench]" in line
    for package in ("massive", "alpaca-py", "matplotlib"):
        assert package in line
    t2t = json.loads(out.read_text())["tick_to_trade"]
    assert set(t2t["contenders"]) == {"tradewire"}
    ours = t2t["contenders"]["tradewire"]
    assert ours["triggers_delivered"] == 20
    assert ours["orders_matched"] + ours["missed_triggers"] == 20
    assert ours["latency"]["samples"] == ours["orders_matched"]
    skipped = t2t["skipped"]["sdk"]
    assert "massive" in skipped
    assert "alpaca-py" in skipped
    assert "ratios_sdk_over_tradewire" not in t2t
    assert "matplotlib" in t2t["plot_skipped"]
    assert not png.exists()
    assert "skipped" in run.stdout


def test_components_skip_the_sdk_side_and_run_ours(tmp_path, base_install_env):
    # Arrange
    out = tmp_path / "bench.json"

    # Act
    run = _bench(base_install_env, "--throughput", "--order-path", "--json", str(out))

    # Assert
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    line = _one_line(run.stderr)
    assert "tradewire[bench]" in line
    assert "massive" in line
    assert "alpaca-py" in line
    results = json.loads(out.read_text())
    throughput = results["throughput"]
    assert set(throughput["contenders"]) == {"tradewire", "tradewire-crypto"}
    assert throughput["contenders"]["tradewire"]["quotes"] == 20_000
    assert throughput["contenders"]["tradewire-crypto"]["quotes"] == 20_000
    assert "massive" in throughput["skipped"]["massive"]
    assert "massive" in throughput["skipped"]["massive-crypto"]
    assert "ratio_tradewire_vs_massive" not in throughput
    assert "ratio_tradewire_vs_massive_crypto" not in throughput
    order_path = results["order_path"]
    per = order_path["servers"]["fixed"]
    assert set(per) == {"tradewire-raw", "tradewire-aiohttp"}
    assert all(r["samples"] == 50 for r in per.values())
    assert "alpaca-py" in order_path["skipped"]["alpaca-py"]


def test_only_the_sdk_contender_requested_exits_2_with_one_line(tmp_path, base_install_env):
    # Arrange
    out = tmp_path / "bench.json"

    # Act
    run = _bench(base_install_env, "--contenders", "sdk", "--json", str(out))

    # Assert
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    line = _one_line(run.stderr)
    assert "tradewire[bench]" in line
    assert "massive" in line
    assert "alpaca-py" in line
    assert not out.exists()
