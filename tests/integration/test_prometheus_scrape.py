"""A real Prometheus server scrapes our exporter; values are checked through its query API.

test.sh installs Debian's `prometheus` (scripts/ensure-prometheus.sh). Without the binary
the test is skipped locally but fails under CI, so CI can never pass it silently
(the ``prometheus`` fixture in tests/conftest.py).
"""

from __future__ import annotations

import pytest

from tradewire.metrics.exporter import MetricsExporter
from tradewire.metrics.recorder import Recorder


def test_real_prometheus_scrapes_latency_rate_and_success_rate(tmp_path, prometheus):
    # Arrange: an exporter with known values
    rec = Recorder()
    for us in (3, 8, 15, 30, 700):
        rec.stages["frame_to_order_written"].record(us * 1000)
    rec.counters.orders_acked, rec.counters.orders_rejected = 9, 1
    rec.counters.fills = 7
    rec.market_data_rate = 20_000.0
    exporter = MetricsExporter(rec, host="127.0.0.1", port=0)
    exporter.start()
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: tradewire\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{exporter.port}']\n"
    )
    try:
        server = prometheus(tmp_path / "prometheus.yml")

        # Act: wait for Prometheus to have scraped us
        count = server.wait_result(
            'trading_latency_microseconds_count{stage="frame_to_order_written"}', timeout_s=20
        )

        # Assert: the values Prometheus stored are the ones we recorded
        assert float(count[0]["value"][1]) == 5
        under_20 = server.result(
            'trading_latency_microseconds_bucket{stage="frame_to_order_written",le="20.0"}'
        )
        assert float(under_20[0]["value"][1]) == 3
        assert float(server.result("market_data_rate_per_second")[0]["value"][1]) == 20_000.0
        assert float(server.result("order_success_rate")[0]["value"][1]) == pytest.approx(0.9)
        assert float(server.result("tradewire_fills_total")[0]["value"][1]) == 7
        p99 = server.result(
            'histogram_quantile(0.99, trading_latency_microseconds_bucket{stage="frame_to_order_written"})'
        )
        assert 500 <= float(p99[0]["value"][1]) <= 1000
    finally:
        exporter.stop()
