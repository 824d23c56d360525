"""The container build and the compose file, checked against each other and the repository
(Docker itself cannot run here), and the pins the image installs with: the same
constraints, made the same way, as the two commands (run.sh and test.sh, through
scripts/bootstrap.sh).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import yaml

from tradewire.app.config import load_config

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "tradewire.json"
PROM_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
DOCKER_CONFIG = ROOT / "config" / "docker.yaml"


def pip_install_run(dockerfile: str) -> str:
    """The Dockerfile's RUN instruction that pip-installs tradewire, continuation lines and all."""
    runs = re.findall(r"^RUN (?:.*\\\n)*.*$", dockerfile, re.M)
    (run,) = [r for r in runs if "pip install" in r]
    return run


def copy_context(dockerfile_part: str, context: Path) -> None:
    """Lay out ``context`` as the image's /app is after the COPY lines of ``dockerfile_part``."""
    for line in re.findall(r"^COPY\s+(.+?)\s+(\S+)$", dockerfile_part, re.M):
        sources, dest = line[0].split(), line[1]
        for source in sources:
            src = ROOT / source
            target = context / dest / src.name if dest.endswith("/") else context / dest
            if src.is_dir():
                shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(src, target)


def test_the_dockerfile_installs_with_the_pins_the_two_commands_use(tmp_path):
    # Arrange: the image's /app as it is when the install runs
    dockerfile = (ROOT / "Dockerfile").read_text()
    run = pip_install_run(dockerfile)
    copy_context(dockerfile.split(run)[0], tmp_path)
    commands = [c.strip() for c in run.removeprefix("RUN ").replace("\\\n", " ").split("&&")]
    pip = next(i for i, c in enumerate(commands) if "pip install" in c)
    install = re.fullmatch(r"pip install (?:\S+ )*-c (\S+) (?:\S+ )*\.", commands[pip])
    assert install, f"the Dockerfile installs without the pins: {commands[pip]!r}"
    constraints = install.group(1)

    # Act: what the image runs before pip, here in that /app
    made = subprocess.run(
        ["sh", "-c", " && ".join(commands[:pip])],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )

    # Assert: the constraints file exists and is made the way scripts/bootstrap.sh makes it
    assert made.returncode == 0, made.stderr
    pinned = (tmp_path / constraints).read_text()
    bootstrap = (ROOT / "scripts" / "bootstrap.sh").read_text()
    assert re.search(r"^\s*sh scripts/constraints\.sh requirements\.txt (\S+)$", bootstrap, re.M)
    assert "sh scripts/constraints.sh requirements.txt " in commands[:pip][0]
    expected = subprocess.run(
        ["sh", "scripts/constraints.sh", "requirements.txt", str(tmp_path / "bootstrap.txt")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert expected.returncode == 0, expected.stderr
    assert pinned == (tmp_path / "bootstrap.txt").read_text()
    # and it pins every runtime dependency, with no editable line (pip refuses one there)
    pins = {
        re.split(r"==", line)[0].lower().replace("_", "-")
        for line in pinned.splitlines()
        if "==" in line
    }
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:
        name = re.match(r"[A-Za-z0-9_.-]+", dep).group(0).lower().replace("_", "-")
        assert name in pins, f"{name} is not pinned in {constraints}"
    assert not any(line.startswith("-e") for line in pinned.splitlines())


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_wires_tradewire_prometheus_and_grafana_together():
    services = compose()["services"]
    assert set(services) == {"tradewire", "prometheus", "grafana", "nats"}
    metrics_port = load_config(DOCKER_CONFIG).metrics.port

    # tradewire: built here, runs the container config, publishes the metrics port
    app = services["tradewire"]
    assert app["build"] == "."
    assert app["command"][-1] == "config/docker.yaml"
    # on this host's loopback only, as the config's comment promises
    assert f"127.0.0.1:{metrics_port}:{metrics_port}" in app["ports"]
    assert all(
        str(p).startswith("127.0.0.1:") for svc in services.values() for p in svc.get("ports", [])
    )

    # prometheus scrapes the tradewire service on that port; its mounts exist
    target = yaml.safe_load(PROM_CONFIG.read_text())["scrape_configs"][0]["static_configs"][0]
    assert target["targets"] == [f"tradewire:{metrics_port}"]
    for service in ("prometheus", "grafana"):
        for volume in services[service]["volumes"]:
            source = volume.split(":")[0]
            assert (ROOT / source).exists(), f"{service} mounts a missing {source}"
    prom_mounts = {v.split(":")[1] for v in services["prometheus"]["volumes"]}
    config_file = next(
        a for a in services["prometheus"]["command"] if a.startswith("--config.file=")
    )
    assert config_file.split("=", 1)[1] in prom_mounts
    rule_files = yaml.safe_load(PROM_CONFIG.read_text())["rule_files"]
    assert all(f"/etc/prometheus/{f}" in prom_mounts for f in rule_files)

    # grafana: the provider's path is where the dashboards are mounted
    graf_mounts = dict(v.split(":")[:2] for v in services["grafana"]["volumes"])
    provider = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/dashboards/dashboards.yml").read_text()
    )["providers"][0]
    assert graf_mounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
    home = services["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == provider["options"]["path"] + "/" + DASHBOARD.name


def test_dashboard_panels_use_the_provisioned_prometheus_datasource():
    datasource = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"  # the compose service, container port
    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target.get("datasource", panel["datasource"])["uid"] == datasource["uid"]


def test_dockerfile_copies_only_files_that_exist_and_runs_the_docker_config():
    dockerfile = (ROOT / "Dockerfile").read_text()
    copies = re.findall(r"^COPY\s+(.+?)\s+\S+$", dockerfile, re.M)
    assert copies
    for sources in copies:
        for source in sources.split():
            assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    assert "config/docker.yaml" in re.search(r"^CMD (.+)$", dockerfile, re.M).group(1)
    metrics_port = load_config(DOCKER_CONFIG).metrics.port
    assert re.search(rf"^EXPOSE {metrics_port}$", dockerfile, re.M)


def test_the_package_builds_from_what_the_dockerfile_copies_before_pip_install(tmp_path):
    # Arrange: the build context as it is when `RUN pip install .` runs
    dockerfile = (ROOT / "Dockerfile").read_text()
    before_install = dockerfile.split(pip_install_run(dockerfile))[0]
    context = tmp_path / "app"
    context.mkdir()
    for sources in re.findall(r"^COPY\s+(.+?)\s+\S+$", before_install, re.M):
        for source in sources.split():
            src = ROOT / source
            if src.is_dir():
                shutil.copytree(src, context / source, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                (context / source).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(src, context / source)
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    # Act
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            *isolation,
            "-w",
            str(tmp_path / "wheel"),
            str(context),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # Assert: every module of the package is in the wheel
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (tmp_path / "wheel").glob("tradewire-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        packaged = {n for n in zf.namelist() if n.endswith((".py", "py.typed"))}
    source = {
        str(p.relative_to(ROOT / "src"))
        for p in (ROOT / "src" / "tradewire").rglob("*")
        if p.suffix == ".py" or p.name == "py.typed"
    }
    assert packaged == source


def test_build_context_leaves_out_keys_and_local_state():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".env", ".venv/", "var/"):
        assert entry in ignored


def test_container_config_listens_on_all_interfaces_and_keeps_the_kill_switch_local():
    config = load_config(DOCKER_CONFIG)
    assert config.metrics.host == "0.0.0.0"
    assert config.control.host == "127.0.0.1"
    assert config.allow_live_trading is False


# --- run_low_latency.sh -----------------------------------------------------------------------


def test_run_low_latency_dry_run_explains_every_step_and_starts_nothing():
    result = subprocess.run(
        [str(ROOT / "run_low_latency.sh"), "--dry-run", "--", "--duration", "1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("tuning: ")]
    for step in (
        "cpu governor",
        "C-states",
        "transparent huge pages",
        "busy_read",
        "swappiness",
        "IRQs off engine CPUs",
        "memlock",
        "isolcpus",
    ):
        (line,) = [line for line in lines if step in line]
        assert re.search(r": (would run: \S|skipped: \S|reported only)", line), line
    assert "would start: " in result.stdout
    assert "run.sh --duration 1" in result.stdout
    assert "tradewire run summary" not in result.stdout
