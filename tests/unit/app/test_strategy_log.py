"""Issue 22, item 6: a strategy's own log lines are shown by default; the engine's INFO
chatter stays behind --log-level."""

from __future__ import annotations

import io
import logging

import pytest
from rich.console import Console

from tradewire.app.panel import Panel, render
from tradewire.app.strategy_log import show_strategy_logs
from tradewire.live.snapshot import NodeSnapshot


@pytest.fixture
def restore_logging():
    root, logger = logging.getLogger(), logging.getLogger("tradewire.strategy")
    saved = (root.level, logger.level, logger.propagate, list(logger.handlers))
    root.setLevel(logging.WARNING)  # what `tradewire run` sets without --log-level
    yield
    root.setLevel(saved[0])
    logger.setLevel(saved[1])
    logger.propagate = saved[2]
    logger.handlers[:] = saved[3]


@pytest.mark.usefixtures("restore_logging")
def test_without_the_panel_strategy_lines_are_plain_lines_and_engine_info_is_not():
    out = io.StringIO()
    show_strategy_logs(pane=False, stream=out)

    logging.getLogger("tradewire.strategy.mean_reversion").info("started on %s", "AAPL,MSFT")
    logging.getLogger("tradewire.strategy.mean_reversion").warning("paused %s", "AAPL")
    logging.getLogger("tradewire.live.node").info("engine chatter")

    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].endswith(" mean_reversion: started on AAPL,MSFT"), lines
    assert lines[1].endswith(" mean_reversion: WARNING paused AAPL"), lines


@pytest.mark.usefixtures("restore_logging")
def test_in_the_panel_the_last_strategy_lines_are_a_log_pane_that_fits():
    pane = show_strategy_logs(pane=True, stream=io.StringIO())
    assert pane is not None
    log = logging.getLogger("tradewire.strategy.a_strategy_with_a_rather_long_name")
    for i in range(8):
        log.info("line %d: %s", i, "x" * 100)

    console = Console(file=io.StringIO(), width=80, height=24, record=True, color_system=None)
    console.print(render(NodeSnapshot(), width=80, height=24, log=pane.lines))
    lines = console.export_text().rstrip("\n").split("\n")

    text = "\n".join(lines)
    assert "line 7" in text, text
    assert "line 2" not in text, text  # a few last lines, not the whole log
    assert max(len(line) for line in lines) <= 80, text


def test_the_live_panel_draws_its_log_pane():
    out = io.StringIO()
    panel = Panel(stream=out, live=True)
    panel.log = ["12:00:01 mean_reversion: started on AAPL"]

    panel.start()
    panel.update(NodeSnapshot())
    panel.stop()

    assert "mean_reversion: started on AAPL" in out.getvalue()
