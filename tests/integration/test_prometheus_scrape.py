"""A real Prometheus server scrapes our exporter; values are checked through its query API.

test.sh installs Debian's `prometheus` (scripts/ensure-prometheus.sh). Without the binary
the test is skipped locally but fails under CI, so CI can never pass it silently.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from tradewire.metrics.exporter import MetricsExporter
from tradewire.metrics.recorder import Recorder

PROMETHEUS = shutil.which("prometheus")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def query(base: str, expr: str) -> list[dict]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as resp:
        body = json.loads(resp.read())
    return body["data"]["result"] if body.get("status") == "success" else []


def wait_for(fn, timeout_s: float = 20.0):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = fn()
            if value:
                return value
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout_s}s: {fn}")
        time.sleep(0.2)


@pytest.fixture
def prometheus_binary() -> str:
    if PROMETHEUS is None:
        if os.environ.get("CI"):
            pytest.fail(
                "prometheus is not installed in CI: scripts/ensure-prometheus.sh should have run"
            )
        pytest.skip("Debian's prometheus is not installed (./test.sh installs it when run as root)")
    return PROMETHEUS


def test_real_prometheus_scrapes_latency_rate_and_success_rate(tmp_path, prometheus_binary):
    # Arrange: an exporter with known values
    rec = Recorder()
    for us in (3, 8, 15, 30, 700):
        rec.stages["frame_to_order_written"].record(us * 1000)
    rec.counters.orders_acked, rec.counters.orders_rejected = 9, 1
    rec.counters.fills = 7
    rec.market_data_rate = 20_000.0
    exporter = MetricsExporter(rec, host="127.0.0.1", port=0)
    exporter.start()
    web_port = free_port()
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: tradewire\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{exporter.port}']\n"
    )
    proc = subprocess.Popen(
        [prometheus_binary, f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{web_port}",
         "--storage.tsdb.retention.time=1h"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{web_port}"
    try:
        wait_for(lambda: urllib.request.urlopen(f"{base}/-/ready", timeout=2).status == 200)

        # Act: wait for Prometheus to have scraped us
        count = wait_for(
            lambda: query(
                base, 'trading_latency_microseconds_count{stage="frame_to_order_written"}'
            )
        )

        # Assert: the values Prometheus stored are the ones we recorded
        assert float(count[0]["value"][1]) == 5
        under_20 = query(
            base, 'trading_latency_microseconds_bucket{stage="frame_to_order_written",le="20.0"}'
        )
        assert float(under_20[0]["value"][1]) == 3
        assert float(query(base, "market_data_rate_per_second")[0]["value"][1]) == 20_000.0
        assert float(query(base, "order_success_rate")[0]["value"][1]) == pytest.approx(0.9)
        assert float(query(base, "tradewire_fills_total")[0]["value"][1]) == 7
        p99 = query(
            base,
            'histogram_quantile(0.99, trading_latency_microseconds_bucket{stage="frame_to_order_written"})',
        )
        assert 500 <= float(p99[0]["value"][1]) <= 1000
    finally:
        proc.terminate()
        proc.wait(10)
        exporter.stop()
