"""The bench's machine baseline measures real things: a loopback round trip between two
processes, system calls, the interpreter, and the cold-call penalty. Only their shape and
sanity are asserted (never a speed: this machine is shared and noisy)."""

from __future__ import annotations

import os

import pytest

from tradewire.bench import machine


@pytest.mark.timeout(120)
def test_the_machine_baseline_is_measured_and_reported() -> None:
    cpus = os.sched_getaffinity(0)
    m = machine.measure(quick=True)
    assert os.sched_getaffinity(0) == cpus  # the bench's own placement is given back
    for key in ("loopback_rtt_blocking", "loopback_rtt_busy"):
        assert 0 < m[key]["p50_us"] <= m[key]["p99_us"] < 1_000_000
    for key in ("getppid_ns", "write_devnull_ns", "write_120b_file_ns"):
        assert 0 < m[key] < 10_000_000
    assert m["sum_range_1000_us"] > 0
    assert 0 < m["call_back_to_back"]["p50_us"] <= m["call_back_to_back"]["p99_us"]
    assert m["call_after_5ms_idle"]["p50_us"] > 0
    text = "\n".join(machine.report_lines(m))
    assert "loopback TCP round trip" in text
    assert "after 5 ms idle" in text
