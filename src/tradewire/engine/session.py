"""The US equity trading session as a day boundary, for limits that are per day.

``max_daily_loss`` used to be a lifetime limit: nothing ever called ``start_new_day``.
A session is the calendar day in America/New_York; its boundary (midnight there) falls
between the after-hours close (20:00) and the pre-market open (04:00), so no trading
session is ever split.

A crypto pair trades 24/7: its daily loss is counted over its own day
(:class:`CryptoDayClock`, UTC midnight by default), from the pairs' P&L only (:func:`crypto_pnl`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")


class SessionClock:
    """Tells when a new session has begun; the first call only records the current one."""

    def __init__(self) -> None:
        self.day = ""

    def __repr__(self) -> str:
        return f"SessionClock(day={self.day!r})"

    def new_session(self, now_s: float) -> bool:
        day = datetime.fromtimestamp(now_s, NEW_YORK).date().isoformat()
        if day == self.day:
            return False
        first = self.day == ""
        self.day = day
        return not first


class CryptoDayClock:
    """The day of a 24/7 market (crypto), for its daily-loss limit. Sans-I/O: give it the time.

    Crypto never closes, so no session boundary falls in a quiet hour; the day begins at
    ``day_starts_utc_hour`` UTC (midnight by default) and is named by the UTC date it began
    on. The US equity session (:class:`SessionClock`) is a separate clock. Like it, the first
    call only records the current day.
    """

    def __init__(self, day_starts_utc_hour: int = 0) -> None:
        if not 0 <= day_starts_utc_hour <= 23:
            raise ValueError(f"day_starts_utc_hour {day_starts_utc_hour} is not an hour 0-23")
        self._offset_s = day_starts_utc_hour * 3600
        self.day = ""

    def __repr__(self) -> str:
        return f"CryptoDayClock(day={self.day!r}, starts={self._offset_s // 3600:02d}:00 UTC)"

    def new_day(self, now_s: float) -> bool:
        day = datetime.fromtimestamp(now_s - self._offset_s, UTC).date().isoformat()
        if day == self.day:
            return False
        first = self.day == ""
        self.day = day
        return not first


class _HasPnl(Protocol):
    @property
    def realized(self) -> float: ...

    @property
    def unrealized(self) -> float: ...


def crypto_pnl(positions: Mapping[str, _HasPnl]) -> float:
    """Realized plus unrealized P&L of the crypto pairs (keys with ``/``) of a position table.

    O(positions): for a crypto order's daily-loss check, never on the stock path.
    """
    total = 0.0
    for key, pos in positions.items():
        if "/" in key:
            total += pos.realized + pos.unrealized
    return total


def session_day(now_ns: int) -> str:
    """The equity session's day (the date in America/New_York) at ``now_ns``: the "day" of
    the options premium cap, which trades in the equity session."""
    return datetime.fromtimestamp(now_ns / 1e9, NEW_YORK).date().isoformat()
