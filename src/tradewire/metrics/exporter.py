"""Prometheus exposition of the recorder, computed at scrape time on the exporter's thread.

Nothing here runs on the hot path: a scrape drains the rings into histograms and reports.
Metric names are the ones the design promises: ``trading_latency_microseconds`` (histogram,
label ``stage``), ``market_data_rate_per_second``, ``order_success_rate``, plus counters.
Those (and the quantile gauges beside the histogram) keep their names because dashboards and
alerts were written against them; every other metric starts with ``tradewire_``, so one
prefix finds them all (tests/unit/metrics/test_metric_names.py holds every family to it).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.simple_server import make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler
from prometheus_client.registry import Collector

from tradewire.metrics.recorder import BUCKETS_US, Recorder
from tradewire.net.loopback import LOOPBACK_HOSTS, host_is_loopback

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# The names the design promised before the prefix rule; everything else is METRIC_PREFIX + ...
SEED_METRICS = frozenset(
    {
        "trading_latency_microseconds",
        "trading_latency_quantile_microseconds",
        "market_data_rate_per_second",
        "order_success_rate",
    }
)
METRIC_PREFIX = "tradewire_"

# Percentile -> the exact quantile label dashboards query (str(99.9 / 100) is
# "0.9990000000000001", which a query for quantile="0.999" never matches).
_QUANTILES = ((50.0, "0.5"), (99.0, "0.99"), (99.9, "0.999"))


class RecorderCollector(Collector):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self._lock = threading.Lock()  # scrapes may overlap; the hot path never takes it

    def collect(self) -> Iterator[Any]:
        rec = self.recorder
        with self._lock:
            if rec.auto_drain:
                rec.drain()
            hist = HistogramMetricFamily(
                "trading_latency_microseconds", "Latency of each hot-path stage", labels=["stage"]
            )
            quant = GaugeMetricFamily(
                "trading_latency_quantile_microseconds",
                "Latency percentiles from the HdrHistogram",
                labels=["stage", "quantile"],
            )
            for name, stage in rec.stages.items():
                cumulative, buckets = 0, []
                for bound, n in zip(BUCKETS_US, stage.bucket_counts, strict=False):
                    cumulative += n
                    buckets.append((str(float(bound)), cumulative))
                buckets.append(("+Inf", stage.count))
                hist.add_metric([name], buckets, sum_value=stage.sum_us)
                for q, label in _QUANTILES:
                    quant.add_metric([name, label], stage.percentile_us(q))
            yield hist
            yield quant
        c = rec.counters
        yield GaugeMetricFamily(
            "market_data_rate_per_second",
            "Market data events per second",
            value=rec.market_data_rate,
        )
        yield GaugeMetricFamily(
            "order_success_rate",
            "Acked / (acked + rejected + unknown) orders",
            value=rec.order_success_rate,
        )
        orders = CounterMetricFamily("tradewire_orders", "Orders by outcome", labels=["result"])
        for result, value in (
            ("sent", c.orders_sent),
            ("acked", c.orders_acked),
            ("rejected", c.orders_rejected),
            ("unknown", c.orders_unknown),
            ("denied", c.orders_denied),
            ("canceled", c.orders_canceled),
            ("expired", c.orders_expired),
        ):
            orders.add_metric([result], value)
        yield orders
        errors = CounterMetricFamily(
            "tradewire_strategy_errors",
            "Exceptions raised by a strategy's callbacks",
            labels=["strategy"],
        )
        for name, count in sorted(c.strategy_errors.items()):
            errors.add_metric([name], count)
        yield errors
        stopped = GaugeMetricFamily(
            "tradewire_strategy_stopped",
            "1 when the strategy was stopped for raising too often (its orders cancelled)",
            labels=["strategy"],
        )
        for name in sorted(c.strategy_errors):
            stopped.add_metric([name], 1.0 if name in c.strategies_stopped else 0.0)
        yield stopped
        yield CounterMetricFamily("tradewire_fills", "Fills received", value=c.fills)
        yield CounterMetricFamily(
            "tradewire_rejects", "Orders rejected by the venue", value=c.orders_rejected
        )
        yield CounterMetricFamily(
            "tradewire_market_data_events", "Market data events decoded", value=c.events
        )
        denials = CounterMetricFamily(
            "tradewire_risk_denials", "Orders denied by pre-trade risk", labels=["reason"]
        )
        for reason, value in sorted(c.denials_by_reason.items()):
            denials.add_metric([reason], value)
        yield denials
        corrections = CounterMetricFamily(
            "tradewire_reconcile_corrections",
            "Differences with the broker corrected by reconciliation",
            labels=["kind"],
        )
        for kind in ("order", "external", "abandoned", "position"):
            corrections.add_metric([kind], c.reconcile_corrections.get(kind, 0))
        yield corrections
        yield CounterMetricFamily(
            "tradewire_refused_events",
            "Broker facts refused before they touched state (overfill, non-finite numbers)",
            value=c.refused_events,
        )
        yield CounterMetricFamily(
            "tradewire_unknown_events",
            "trade_updates events with a name this build does not know (counted, ignored)",
            value=c.unknown_events,
        )
        reconnects = CounterMetricFamily("tradewire_reconnects", "Reconnects", labels=["feed"])
        reconnects.add_metric(["polygon"], c.feed_reconnects)
        reconnects.add_metric(["alpaca_stream"], c.stream_reconnects)
        yield reconnects
        if rec.worker_rows is not None:
            yield from _worker_families(rec.worker_rows())
        for gauge_name, gauge_value in sorted(rec.gauges.items()):
            yield GaugeMetricFamily(gauge_name, gauge_name.replace("_", " "), value=gauge_value)


class MetricsExporter:
    """Serves ``/metrics`` on its own thread and registry (never the global one)."""

    def __init__(self, recorder: Recorder, *, host: str = "127.0.0.1", port: int = 9090) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.collector = RecorderCollector(recorder)
        self.registry.register(self.collector)
        self.host = host
        self.port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"MetricsExporter({self.host}:{self.port})"

    def start(self, *, cpus: Iterable[int] | None = None) -> None:
        """Serve on a thread of its own; with ``cpus``, that thread (and the request threads
        it starts) runs there. A scrape computes in Python for milliseconds: on the engine's
        CPU it stalls the loop (benchmarks/experiments/exporter_stall.py), on a housekeeping
        CPU it does not."""
        app: WsgiApp = make_wsgi_app(self.registry)
        if self.host in LOOPBACK_HOSTS:
            app = _loopback_host_only(app)

        class Server(ThreadingWSGIServer):
            address_family = socket.AF_INET6 if ":" in self.host else socket.AF_INET

        server = make_server(self.host, self.port, app, Server, handler_class=_SilentHandler)
        thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
        thread.start()
        self._server, self._thread = server, thread
        self.port = int(server.server_port)
        wanted = set(cpus or ())
        if wanted and self._thread.native_id is not None:
            with contextlib.suppress(OSError):  # a CPU outside our cgroup: stay where we are
                os.sched_setaffinity(self._thread.native_id, wanted)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"


def _loopback_host_only(app: WsgiApp) -> WsgiApp:
    """Answer 403 unless the Host header names loopback: the control endpoint's check.

    Only for a loopback bind: a DNS-rebinding page reaches 127.0.0.1 from the operator's
    browser with ``Host: evil.example`` and would read P&L and exposure. A remote bind
    (``allow_remote``) is scraped under the machine's own name, so there it does not apply.
    """

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if host_is_loopback(str(environ.get("HTTP_HOST", ""))):
            return app(environ, start_response)
        start_response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"Host must be a loopback address\n"]

    return guarded


def _worker_families(rows: dict[str, dict[str, Any]]) -> Iterator[Any]:
    """A gateway's workers, one labelled series each (their own counters, from their hellos)."""
    for key, name, help_text in (
        ("events", "tradewire_worker_events", "Market events delivered to the worker"),
        ("gaps", "tradewire_worker_gaps", "Market frames the worker missed (sequence gaps)"),
        ("dropped", "tradewire_worker_dropped", "Messages dropped on the way to the worker"),
        ("intents", "tradewire_worker_intents", "Order intents the gateway took from the worker"),
        ("conflated", "tradewire_worker_conflated", "Quotes skipped for a newer one (conflate)"),
    ):
        family = CounterMetricFamily(name, help_text, labels=["worker"])
        for worker, row in rows.items():
            family.add_metric([worker], float(row[key]))
        yield family
    latency = GaugeMetricFamily(
        "tradewire_worker_latency_p50_microseconds",
        "Gateway send to worker receive, p50 of the worker's last interval",
        labels=["worker"],
    )
    alive = GaugeMetricFamily(
        "tradewire_worker_up", "1 while the worker says hello", labels=["worker"]
    )
    for worker, row in rows.items():
        if row["latency_p50_us"] is not None:
            latency.add_metric([worker], float(row["latency_p50_us"]))
        alive.add_metric([worker], 1.0 if row["alive"] else 0.0)
    yield latency
    yield alive
