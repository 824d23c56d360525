"""A strategy's own log lines (``self.log.info(...)``), shown by default.

The README's example strategy logs what it does, and at the default ``--log-level WARNING``
none of it was seen. The ``tradewire.strategy.<name>`` loggers now speak at INFO whatever
the engine's level: as plain lines (``12:00:01 mean_reversion: started on AAPL``) without
the panel, or into the panel's log pane, its last few lines. The engine's own INFO lines
stay behind ``--log-level``.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import TextIO

STRATEGY_LOGGER = "tradewire.strategy"
PANE_LINES = 4


class _StrategyFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        name = record.name.removeprefix(STRATEGY_LOGGER + ".")
        level = f"{record.levelname} " if record.levelno >= logging.WARNING else ""
        line = f"{self.formatTime(record, '%H:%M:%S')} {name}: {level}{record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class StrategyPane(logging.Handler):
    """The last few strategy lines, for the panel."""

    def __init__(self, keep: int = PANE_LINES) -> None:
        super().__init__()
        self.lines: deque[str] = deque(maxlen=keep)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record).partition("\n")[0])


def show_strategy_logs(*, pane: bool, stream: TextIO) -> StrategyPane | None:
    """Strategies' INFO lines (DEBUG too when the engine's level is DEBUG): into the panel's
    pane (returned) when ``pane``, else as plain lines on ``stream``."""
    logger = logging.getLogger(STRATEGY_LOGGER)
    logger.setLevel(min(logging.INFO, logging.getLogger().getEffectiveLevel()))
    logger.propagate = False  # not again through the engine's own handler
    handler: logging.Handler = StrategyPane() if pane else logging.StreamHandler(stream)
    handler.setFormatter(_StrategyFormatter())
    logger.handlers[:] = [handler]
    return handler if isinstance(handler, StrategyPane) else None
