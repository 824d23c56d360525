"""The panel and the summary: what a user reads, at 80×24 and at the end of a run."""

from __future__ import annotations

import io

from rich.console import Console

from tradewire.app.fit import fit
from tradewire.app.panel import one_line, render, summary
from tradewire.live.snapshot import NodeSnapshot, PositionRow


def _snapshot(positions: int = 15) -> NodeSnapshot:
    return NodeSnapshot(
        mode="sim",
        state="ACTIVE",
        uptime_s=1234.5,
        feed_rate=123_456.0,
        events=98_765_432,
        frames=12_345_678,
        reconnects=3,
        orders_sent=123_456,
        orders_acked=123_000,
        orders_rejected=12,
        orders_unknown=1,
        risk_denied=4_321,
        orders_canceled=100_000,
        orders_expired=7,
        fills=22_000,
        open_orders=44,
        realized_pnl=-1_234.56,
        unrealized_pnl=789.01,
        positions=[
            PositionRow(f"SYM{i:03d}", 100.0 * (i + 1), 123.45, 124.0, 10.0 * i, -5.0 * i)
            for i in range(positions)
        ],
        latency_us={
            "frame_to_callback": (12.3, 45.6, 1_000_000),
            "callback_to_order_written": (23.4, 56.7, 123_456),
            "frame_to_order_written": (34.5, 67.8, 123_456),
            "order_round_trip": (1_234.5, 8_765.4, 123_000),
        },
        note="stale feed: no data for 10.0s (the reason can be long and wrap the line)",
        strategies={"mean_reversion": "running", "breakout": "stopped after 20 errors in 60s"},
        strategy_errors=20,
    )


def _render_text(snapshot: NodeSnapshot, width: int, height: int) -> list[str]:
    out = io.StringIO()
    console = Console(file=out, width=width, height=height, record=True, color_system=None)
    console.print(render(snapshot, width=width, height=height))
    return console.export_text().rstrip("\n").split("\n")


def test_the_panel_fits_80_by_24_and_says_what_it_left_out():
    lines = _render_text(_snapshot(positions=15), 80, 24)

    assert len(lines) <= 24, "\n".join(lines)
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    for figure in ("ACTIVE", "sent 123,456", "canceled 100,000", "expired 7", "P&L", "-445.55"):
        assert figure in text, text
    assert "more positions" in text  # the rows that did not fit are counted, not dropped
    assert "breakout stopped after 20 errors" in text


def test_a_tall_terminal_shows_every_position():
    lines = _render_text(_snapshot(positions=15), 120, 60)

    text = "\n".join(lines)
    assert all(f"SYM{i:03d}" in text for i in range(15))
    assert "more positions" not in text


def test_the_summary_and_the_last_panel_line_show_the_same_figures():
    s = _snapshot(positions=2)
    line, text = one_line(s), summary(s)

    for figure in ("123,456 sent", "100,000 canceled", "7 expired", "22,000 fills", "-445.55"):
        assert figure in text, text
    for figure in ("sent=123456", "canceled=100000", "expired=7", "fills=22000", "pnl=-445.55"):
        assert figure in line, line
    # marks are in the summary: a position's P&L can be checked against them
    assert "position SYM000: 100 @ 123.45, mark 124.00" in text
    assert "strategy breakout: stopped after 20 errors in 60s" in text


def test_summary_says_how_many_orders_are_not_verified_and_is_silent_when_none():
    # after a stop whose reconciliation bound was spent, the summary must not read as agreement
    assert "NOT VERIFIED" not in summary(NodeSnapshot())
    assert "NOT VERIFIED: 17 open orders" in summary(NodeSnapshot(unverified_orders=17))


# -- issue 22, item 14: no float artefacts in what a user reads ------------------------------


def _artefacts() -> NodeSnapshot:
    return NodeSnapshot(
        realized_pnl=0.1 + 0.2,
        unrealized_pnl=1e-05,
        positions=[
            PositionRow("AAPL", 10.0, 143.20499999999998, 143.20499999999998, 0.1 + 0.2, 0.0),
            PositionRow("BTCUSD", 0.5, 0.30000000000000004, None, 0.0, 1e-05),
        ],
    )


def test_panel_and_summary_show_no_float_artefacts_and_fractional_quantities():
    s = _artefacts()
    text = "\n".join(_render_text(s, 100, 40)) + "\n" + summary(s) + "\n" + one_line(s)

    for artefact in ("0000000", "9999999", "e-05", "10.0 "):
        assert artefact not in text, text
    assert "position AAPL: 10 @ 143.205, mark 143.205" in text
    assert "position BTCUSD: 0.5 @ 0.30" in text  # not "0" (a fraction rounded away)
    assert "P&L: +0.30" in text


# -- issue 22, item 15: the panel and the summary fit 80 columns, no figure cut in two --------


def _wide() -> NodeSnapshot:
    s = _snapshot(positions=6)
    s.strategies = {
        "mean_reversion_with_a_long_name_for_aapl_msft": "running",
        "breakout": "stopped after 20 errors in 60s (last: ZeroDivisionError: division by zero)",
    }
    s.workers = {
        "mean_reversion_worker_number_one": {
            "alive": True,
            "events": 123_456_789,
            "gaps": 12,
            "dropped": 3,
            "intents": 55_555,
            "latency_p50_us": 12.5,
        }
    }
    s.positions.append(PositionRow("GOOGL", -12_345.0, 2_345.678, 2_346.5, -12_345.67, 98_765.43))
    return s


_FIGURES = (
    "risk-denied 4,321",
    "canceled 100,000",
    "events 98,765,432",
    "4,321 denied by risk",
    "100,000 canceled",
    "events 123,456,789",
    "p99 8,765.4",
)


def test_the_panel_and_the_summary_fit_80_columns_and_keep_each_figure_whole():
    s = _wide()
    panel = _render_text(s, 80, 40)
    text = summary(s).split("\n")

    for lines in (panel, text):
        assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    for figure in _FIGURES:  # a label and its number are never split across two lines
        assert any(figure in line for line in panel + text), figure
    assert any("realized -12,345.67" in line for line in text), text


# -- issue 22, item 7: the rules that denied, by name ------------------------------------------


def test_panel_and_summary_name_the_rules_that_denied_most_first():
    s = NodeSnapshot(risk_denied=547, denials_by_reason={"max_position": 12, "throttle": 535})

    panel = "\n".join(_render_text(s, 80, 24))
    assert "risk denials: throttle 535 · max_position 12" in panel, panel
    assert "risk denials: throttle 535, max_position 12" in summary(s)
    assert "risk denials" not in summary(NodeSnapshot())


def test_a_line_broken_between_figures_keeps_its_separator():
    lines = fit(["a" * 30, "b" * 30, "c" * 18], 80, sep=", ", first="  ", rest="    ")
    assert lines == ["  " + "a" * 30 + ", " + "b" * 30 + ",", "    " + "c" * 18]


# -- issue 22, item 9: end states are the true ones --------------------------------------------


def test_after_ctrl_c_the_summary_says_stopped_not_active_or_running():
    s = NodeSnapshot(state="ACTIVE", strategies={"mr": "running"}, ended="stopped (Ctrl-C)")

    text = summary(s)

    assert "stopped (Ctrl-C)" in text, text
    assert "end state: stopped cleanly" in text, text
    assert "strategy mr: stopped" in text, text
    assert "ACTIVE" not in text, text
    assert "running" not in text, text
    assert "open positions" not in text  # flat: nothing to say


def test_after_a_kill_the_summary_says_killed_and_the_strategy_stopped():
    s = NodeSnapshot(
        state="HALTED",
        note="kill switch: test",
        strategies={"mr": "running", "bad": "stopped after 20 errors in 60s"},
        ended="stopped (Ctrl-C)",
    )

    text = summary(s)

    assert "end state: killed (kill switch: test)" in text, text
    assert "strategy mr: stopped" in text
    assert "strategy bad: stopped after 20 errors" in text
    assert "HALTED" not in text, text
    assert "running" not in text, text


def test_a_gone_worker_is_gone_in_the_strategies_too():
    s = NodeSnapshot(
        strategies={"worker:mr1": "running"},
        workers={"mr1": {"alive": False, "events": 5}},
        ended="stopped (Ctrl-C)",
    )

    text = summary(s)

    assert "strategy worker:mr1: gone" in text, text
    assert "worker mr1 GONE" in text


def test_a_normal_stop_that_leaves_positions_open_says_so_in_one_line():
    s = _snapshot(positions=3)
    s.strategies, s.ended = {"mr": "running"}, "stopped after --duration 60s"

    lines = [line for line in summary(s).split("\n") if "open positions left" in line]

    assert lines == ["  open positions left at the stop: SYM000 100, SYM001 200, SYM002 300"]


def test_the_last_panel_frame_says_the_run_ended():
    s = NodeSnapshot(state="ACTIVE", strategies={"mr": "running"}, ended="stopped (Ctrl-C)")

    text = "\n".join(_render_text(s, 80, 24))

    assert "stopped (Ctrl-C)" in text, text
    assert "strategies 1 stopped" in text, text
    assert "running" not in text, text
    assert "ACTIVE" not in text, text


def test_a_stop_that_left_orders_open_is_not_called_clean():
    s = NodeSnapshot(open_orders=2, unverified_orders=1, ended="stopped (Ctrl-C)")

    assert "end state: stopped with 2 orders still open (1 not verified)" in summary(s)


def test_a_figure_wrapped_over_lines_gets_no_separator_inside_it():
    lines = fit(["word " * 30], 40, sep=", ", first="  ", rest="    ")
    assert all(not line.endswith(",") for line in lines), lines


def test_the_gateways_summary_says_it_is_the_gateways() -> None:
    # issue 22: `tradewire gateway` printed "tradewire run summary"
    assert summary(NodeSnapshot(), prog="tradewire gateway").startswith("tradewire gateway summary")
    assert summary(NodeSnapshot()).startswith("tradewire run summary")
