"""The error budget of a strategy: one traceback, then counts, then a stop."""

from __future__ import annotations

from tradewire.engine.strategy_health import StrategyHealth, Verdict


def test_first_error_is_a_traceback_then_quiet_counts():
    health = StrategyHealth(max_errors=0, report_every_s=5.0)
    verdicts = [health.on_error(t * 0.001, "ValueError: x") for t in range(880)]

    assert verdicts[0] is Verdict.TRACEBACK
    assert set(verdicts[1:]) == {Verdict.QUIET}
    assert health.errors == 880
    assert health.stopped == ""


def test_quiet_errors_are_summarised_at_most_every_report_interval():
    health = StrategyHealth(max_errors=0, report_every_s=5.0)
    health.on_error(0.0, "e")
    for t in range(1, 100):
        health.on_error(t * 0.01, "e")

    assert health.report(1.0) == 0  # too soon after the traceback
    assert health.report(5.0) == 99
    assert health.report(6.0) == 0  # nothing new
    health.on_error(7.0, "e")
    assert health.report(7.5) == 0
    assert health.report(10.0) == 1
    health.on_error(11.0, "e")
    assert health.flush() == 1
    assert health.flush() == 0


def test_max_errors_inside_the_window_stops_the_strategy_once():
    health = StrategyHealth(max_errors=5, window_s=10.0)
    verdicts = [health.on_error(float(t), "KeyError: 'AAPL'") for t in range(6)]

    assert verdicts[:4] == [Verdict.TRACEBACK] + [Verdict.QUIET] * 3
    assert verdicts[4] is Verdict.STOP
    assert verdicts[5] is not Verdict.STOP  # already stopped: the host acts once
    assert "stopped after 5 errors in 10s" in health.stopped
    assert "KeyError: 'AAPL'" in health.stopped


def test_errors_spread_wider_than_the_window_never_stop_it():
    health = StrategyHealth(max_errors=3, window_s=10.0)
    verdicts = [health.on_error(t * 6.0, "e") for t in range(20)]

    assert Verdict.STOP not in verdicts
    assert health.stopped == ""
