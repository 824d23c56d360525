"""The US equity trading session as a day boundary, for limits that are per day.

``max_daily_loss`` used to be a lifetime limit: nothing ever called ``start_new_day``.
A session is the calendar day in America/New_York; its boundary (midnight there) falls
between the after-hours close (20:00) and the pre-market open (04:00), so no trading
session is ever split.
"""

from __future__ import annotations

from datetime import datetime
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
