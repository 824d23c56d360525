from __future__ import annotations

import pytest

from tradewire.metrics.recorder import Recorder, Stage


def test_stage_drains_ring_into_histogram_with_sub_microsecond_resolution():
    stage = Stage("s", ring_size=8)
    for ns in (1_000, 2_300, 50_000, 1_000_000):
        stage.record(ns)
    assert stage.drain() == 4
    assert stage.count == 4
    assert stage.percentile_us(50) == pytest.approx(2.3, rel=0.01)  # 2 significant digits
    assert stage.summary_us()["max"] == pytest.approx(1000, rel=0.01)
    assert stage.summary_us()["count"] == 4
    assert stage.drain() == 0


def test_stage_counts_what_a_lapped_ring_lost():
    stage = Stage("s", ring_size=4)
    for _ in range(10):
        stage.record(5_000)
    stage.drain()
    assert (stage.count, stage.lost) == (4, 6)


def test_order_success_rate():
    rec = Recorder()
    assert rec.order_success_rate == 1.0
    rec.counters.orders_acked, rec.counters.orders_rejected, rec.counters.orders_unknown = 8, 1, 1
    assert rec.order_success_rate == pytest.approx(0.8)


def test_ring_size_must_be_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        Stage("s", ring_size=10)
