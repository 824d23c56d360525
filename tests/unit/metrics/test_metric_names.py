"""Every metric the exporter can produce, listed from a recorder with every part populated
(a latency stage, strategy errors, a gateway's workers, the node's gauges), follows one
naming rule: the four names the design promised keep their names, everything else starts
with ``tradewire_``."""

from __future__ import annotations

from tradewire.metrics.exporter import METRIC_PREFIX, SEED_METRICS, RecorderCollector
from tradewire.metrics.recorder import Recorder


def _every_family_name() -> set[str]:
    rec = Recorder()
    rec.stages["frame_to_order_written"].record(5_000)
    rec.counters.strategy_errors["momentum"] = 3
    rec.counters.strategies_stopped["momentum"] = "raised 3 times in 60 s"
    rec.gauges["tradewire_pnl_realized_usd"] = 1.0
    rec.worker_rows = lambda: {
        "w1": {
            "events": 1,
            "gaps": 0,
            "dropped": 0,
            "intents": 1,
            "conflated": 0,
            "latency_p50_us": 12.0,
            "alive": True,
        }
    }
    return {family.name for family in RecorderCollector(rec).collect()}


def test_the_seed_names_stay_and_every_other_metric_starts_with_tradewire():
    names = _every_family_name()
    assert {
        "trading_latency_microseconds",
        "trading_latency_quantile_microseconds",
        "market_data_rate_per_second",
        "order_success_rate",
    } == SEED_METRICS
    assert names >= SEED_METRICS
    assert METRIC_PREFIX == "tradewire_"
    breaking = sorted(n for n in names - SEED_METRICS if not n.startswith(METRIC_PREFIX))
    assert not breaking, f"metrics without the tradewire_ prefix: {breaking}"
    # the families this test must have seen, or it would prove nothing about them
    for name in ("tradewire_worker_up", "tradewire_strategy_stopped", "tradewire_orders"):
        assert name in names
