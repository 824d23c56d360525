from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from tradewire.metrics.exporter import MetricsExporter
from tradewire.metrics.recorder import Recorder


def test_exporter_serves_promised_metric_names_and_values():
    # Arrange
    rec = Recorder()
    for us in (3, 7, 40):
        rec.stages["frame_to_order_written"].record(us * 1000)
    rec.counters.orders_acked = 3
    rec.counters.orders_rejected = 1
    rec.counters.denials_by_reason["max_qty"] = 2
    rec.counters.unknown_events = 4
    rec.market_data_rate = 1234.0
    exporter = MetricsExporter(rec, host="127.0.0.1", port=0)
    exporter.start()
    try:
        # Act
        text = urllib.request.urlopen(exporter.url, timeout=5).read().decode()
    finally:
        exporter.stop()

    # Assert
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }
    assert (
        samples[("trading_latency_microseconds_count", (("stage", "frame_to_order_written"),))] == 3
    )
    assert (
        samples[
            (
                "trading_latency_microseconds_bucket",
                (("le", "5.0"), ("stage", "frame_to_order_written")),
            )
        ]
        == 1
    )
    assert (
        samples[("trading_latency_microseconds_sum", (("stage", "frame_to_order_written"),))] == 50
    )
    assert samples[("market_data_rate_per_second", ())] == 1234.0
    assert samples[("order_success_rate", ())] == 0.75
    assert samples[("tradewire_orders_total", (("result", "acked"),))] == 3
    assert samples[("tradewire_risk_denials_total", (("reason", "max_qty"),))] == 2
    assert samples[("tradewire_unknown_events_total", ())] == 4


def test_quantile_labels_are_written_exactly():
    # The Grafana p99.9 panel queries quantile="0.999"; str(99.9 / 100) is 0.9990000000000001.
    rec = Recorder()
    rec.stages["frame_to_order_written"].record(5_000)
    exporter = MetricsExporter(rec, host="127.0.0.1", port=0)
    exporter.start()
    try:
        text = urllib.request.urlopen(exporter.url, timeout=5).read().decode()
    finally:
        exporter.stop()
    quantiles = {
        s.labels["quantile"]
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name == "trading_latency_quantile_microseconds"
    }
    assert quantiles == {"0.5", "0.99", "0.999"}


def test_the_exporter_thread_and_its_request_threads_run_on_the_cpus_given():
    """A scrape computes for milliseconds: it must run beside the loop, not on its CPU."""
    import os
    import threading
    import urllib.request

    cpus = sorted(os.sched_getaffinity(0))
    target = {cpus[0]}
    rec = Recorder()
    seen: list[set[int]] = []
    original = rec.drain

    def drain_and_look() -> None:  # runs in the request thread of a scrape
        seen.append(os.sched_getaffinity(threading.get_native_id()))
        original()

    rec.drain = drain_and_look  # type: ignore[method-assign]
    exporter = MetricsExporter(rec, host="127.0.0.1", port=0)
    exporter.start(cpus=target)
    try:
        assert exporter._thread is not None
        assert os.sched_getaffinity(exporter._thread.native_id) == target
        with urllib.request.urlopen(exporter.url, timeout=10) as resp:
            assert resp.status == 200
        assert seen == [target]
        assert os.sched_getaffinity(0) == set(cpus)  # the caller stays where it was
    finally:
        exporter.stop()


def _get_with_host(port: int, host_header: str) -> int:
    """Status of a real GET /metrics that sends ``host_header`` as its Host."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.putrequest("GET", "/metrics", skip_host=True)
        conn.putheader("Host", host_header)
        conn.endheaders()
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def test_metrics_refuse_a_non_loopback_host_header():
    # DNS rebinding: a browser on evil.example resolved to 127.0.0.1 sends Host: evil.example
    # and would read P&L and exposure; the loopback names still scrape.
    exporter = MetricsExporter(Recorder(), host="127.0.0.1", port=0)
    exporter.start()
    try:
        refused = _get_with_host(exporter.port, "evil.example")
        refused_with_port = _get_with_host(exporter.port, f"evil.example:{exporter.port}")
        allowed = _get_with_host(exporter.port, f"127.0.0.1:{exporter.port}")
        allowed_name = _get_with_host(exporter.port, "localhost")
    finally:
        exporter.stop()

    assert refused == 403
    assert refused_with_port == 403
    assert allowed == 200
    assert allowed_name == 200
