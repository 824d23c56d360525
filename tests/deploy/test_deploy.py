"""The Docker deployment, tested as far as a machine without Docker allows.

Docker cannot run here, so each piece is checked against the real thing it talks to:
the Prometheus config and alert rules with Debian's ``promtool`` (and its rule unit tests),
the dashboard and alert queries against a real ``tradewire run`` started with the container's
config and scraped by a real Prometheus using the shipped scrape config, and the compose file,
Dockerfile and provisioning files against each other and the repository.
"""

from __future__ import annotations

import json
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tradewire.metrics.exporter import METRIC_PREFIX, SEED_METRICS, RecorderCollector
from tradewire.metrics.recorder import Recorder

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "tradewire.json"
PROM_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DOCKER_CONFIG = ROOT / "config" / "docker.yaml"

# Words in a PromQL expression that are not metric names.
PROMQL_WORDS = {
    "sum",
    "by",
    "without",
    "rate",
    "increase",
    "histogram_quantile",
    "avg",
    "max",
    "min",
    "count",
    "irate",
    "delta",
    "and",
    "or",
    "unless",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
    "humanizePercentage",
    "le",
}


def dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"] for p in panels for t in p.get("targets", [])]


def alert_exprs() -> list[str]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule["expr"] for g in groups for rule in g["rules"]]


def metric_names(expr: str) -> set[str]:
    """Identifiers that stand where a metric name can: not a function, keyword, label or string."""
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    without_labels = re.sub(r"\{[^}]*\}", "", without_strings)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_labels)
    without_groupings = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", without_ranges)
    names = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", without_groupings))
    return {n for n in names if n not in PROMQL_WORDS and not re.fullmatch(r"[0-9e.]+", n)}


def test_metric_name_extraction_skips_functions_labels_and_ranges():
    expr = (
        "histogram_quantile(0.99, sum by (le) (rate(trading_latency_microseconds_bucket"
        '{stage="order_round_trip"}[1m]))) + on(job) tradewire_fills_total'
    )
    assert metric_names(expr) == {"trading_latency_microseconds_bucket", "tradewire_fills_total"}


# --- a real `tradewire run` with the container's config --------------------------------------


@dataclass
class RunningApp:
    metrics_url: str
    target: str  # host:port for a Prometheus scrape config
    proc: subprocess.Popen[str]

    def scrape(self) -> str:
        with urllib.request.urlopen(self.metrics_url, timeout=10) as resp:
            return resp.read().decode()


@pytest.fixture(scope="module")
def docker_config_app(
    tmp_path_factory: pytest.TempPathFactory, keyless_env: dict[str, str]
) -> Iterator[RunningApp]:
    """``tradewire run`` with config/docker.yaml, as the container's CMD starts it."""
    journal = tmp_path_factory.mktemp("deploy") / "journal.twj"
    env = dict(keyless_env)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tradewire.app.cli",
            "run",
            "--no-panel",
            "--config",
            str(DOCKER_CONFIG),
            "--journal",
            str(journal),
            "--metrics-port",
            "0",
            "--control-port",
            "0",
            "--duration",
            "90",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    reader = threading.Thread(
        target=lambda: [lines.put(line) for line in proc.stdout],
        daemon=True,  # type: ignore[union-attr]
    )
    reader.start()
    seen: list[str] = []

    def wait_line(pattern: str, timeout_s: float = 40.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                if proc.poll() is not None:
                    break
                continue
            seen.append(line)
            if match := re.search(pattern, line):
                return match
        raise AssertionError(f"no line matching {pattern!r}; output:\n{''.join(seen)}")

    try:
        banner = wait_line(r"metrics http://(\S+?)/metrics")
        port = banner.group(1).rsplit(":", 1)[1]
        assert banner.group(1).startswith("0.0.0.0:"), "the container must expose metrics"
        wait_line(r"sent=[1-9]")  # it trades
        app = RunningApp(f"http://127.0.0.1:{port}/metrics", f"127.0.0.1:{port}", proc)
        yield app
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(5)
        proc.stdout.close()


def gateway_scrape() -> str:
    """What a gateway's exporter adds to a plain run's: its workers' series (and a strategy's
    error and stopped series), rendered by the real exporter from a populated recorder."""
    rec = Recorder()
    rec.counters.strategy_errors["s"] = 1
    rec.worker_rows = lambda: {
        "w": {
            **dict.fromkeys(("events", "gaps", "dropped", "intents", "conflated"), 0),
            "latency_p50_us": 1.0,
            "alive": True,
        }
    }
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RecorderCollector(rec))
    return generate_latest(registry).decode()


def family(sample_name: str) -> str:
    """The metric family a name in a query belongs to (a histogram's or counter's samples)."""
    return re.sub(r"_(bucket|count|sum|total)$", "", sample_name)


def test_every_metric_in_the_dashboard_and_alerts_is_exported_by_the_app(docker_config_app):
    # Arrange: names the running app really exports (families and their sample names), and
    # those only a gateway exports (its workers' series)
    exported = {"up"}  # made by Prometheus for every target
    scrapes = docker_config_app.scrape() + gateway_scrape()
    for family in text_string_to_metric_families(scrapes):
        exported.add(family.name)
        exported.update(sample.name for sample in family.samples)
        if family.type == "counter":
            exported.add(family.name + "_total")  # the parser strips the suffix
    # Act
    used = {name for expr in dashboard_exprs() + alert_exprs() for name in metric_names(expr)}
    # Assert
    assert used, "no metric names found in the dashboard or alerts"
    assert used <= exported, f"not exported by tradewire: {sorted(used - exported)}"
    # and the dashboard shows what the issue promises
    for promised in (
        "trading_latency_quantile_microseconds",  # latency percentiles
        "market_data_rate_per_second",  # feed rate
        "tradewire_orders_total",
        "tradewire_fills_total",
        "tradewire_pnl_realized_usd",
    ):
        assert any(promised in metric_names(e) for e in dashboard_exprs()), promised


def test_every_exported_metric_is_on_the_dashboard_or_in_an_alert(docker_config_app):
    # Arrange
    scrapes = docker_config_app.scrape() + gateway_scrape()
    exported = {f.name for f in text_string_to_metric_families(scrapes)}
    # Act
    shown = {family(n) for e in dashboard_exprs() for n in metric_names(e)}
    alerted = {family(n) for e in alert_exprs() for n in metric_names(e)}
    # Assert: nothing the exporter produces goes unwatched, and the names follow one rule
    assert not exported - shown - alerted, f"nowhere to see: {sorted(exported - shown - alerted)}"
    breaking = sorted(n for n in exported - SEED_METRICS if not n.startswith(METRIC_PREFIX))
    assert not breaking, f"metrics without the tradewire_ prefix: {breaking}"
    # the worker and strategy health metrics are both on the dashboard and paged on
    for name in ("tradewire_worker_up", "tradewire_strategy_stopped", "tradewire_strategy_errors"):
        assert name in shown, name
        assert name in alerted, name
    rules = {r["alert"] for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]}
    assert {"WorkerDown", "StrategyStopped", "StrategyErrors"} <= rules


def test_real_prometheus_with_the_shipped_config_loads_rules_and_answers_every_panel(
    docker_config_app, tmp_path, prometheus, poll
):
    # Arrange: the shipped prometheus.yml, with only the compose service name replaced
    config = yaml.safe_load(PROM_CONFIG.read_text())
    (job,) = config["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["tradewire:9090"]
    job["static_configs"][0]["targets"] = [docker_config_app.target]
    shutil.copy(ALERTS, tmp_path / "alerts.yml")
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    server = prometheus(tmp_path / "prometheus.yml")

    # Act: wait until it has scraped the app for a few seconds (rate() needs two samples)
    server.wait_result('up{job="tradewire"} == 1')
    server.wait_result("count_over_time(up[1m]) >= 4")

    # Assert 1: every alert rule loaded and evaluates without error
    def rules() -> list[dict]:
        groups = server.get("/api/v1/rules")["data"]["groups"]
        loaded = [r for g in groups for r in g["rules"]]
        return loaded if all(r.get("lastEvaluation", "").startswith("2") for r in loaded) else []

    loaded = poll(rules)
    assert {r["name"] for r in loaded} == {
        r["alert"] for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]
    }
    assert all(r["health"] == "ok" for r in loaded), [
        (r["name"], r.get("lastError")) for r in loaded
    ]
    firing = {r["name"] for r in loaded if r["state"] == "firing"}
    assert "TradewireDown" not in firing
    assert "MarketDataStalled" not in firing

    # Assert 2: every dashboard query is valid PromQL and the trading panels have data
    answers = {expr: server.query(expr) for expr in dashboard_exprs()}
    errors = {e: a.get("error") for e, a in answers.items() if a.get("status") != "success"}
    assert not errors, errors
    for expr in (
        'trading_latency_quantile_microseconds{stage="frame_to_order_written", quantile="0.99"}',
        "market_data_rate_per_second",
        "sum by (result) (rate(tradewire_orders_total[1m]))",
        "tradewire_pnl_realized_usd",
        "order_success_rate",
    ):
        assert answers[expr]["data"]["result"], f"no data for {expr}"
    rate = float(answers["market_data_rate_per_second"]["data"]["result"][0]["value"][1])
    assert rate > 0


# --- promtool -------------------------------------------------------------------------------


def test_promtool_accepts_the_shipped_prometheus_config_and_rules(promtool):
    config = subprocess.run(
        [promtool, "check", "config", str(PROM_CONFIG)], capture_output=True, text=True, timeout=60
    )
    assert config.returncode == 0, config.stdout + config.stderr
    n_rules = len(alert_exprs())
    assert f"{n_rules} rules found" in config.stdout + config.stderr


def test_promtool_alert_rule_unit_tests_pass(promtool):
    result = subprocess.run(
        [promtool, "test", "rules", "alerts_test.yml"],
        cwd=DEPLOY / "prometheus",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_promtool_rejects_a_broken_rule(tmp_path, promtool):
    # The checks above would be worthless if promtool accepted anything.
    (tmp_path / "bad.yml").write_text(
        "groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: rate(up[1m]\n"
    )
    result = subprocess.run(
        [promtool, "check", "rules", str(tmp_path / "bad.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
