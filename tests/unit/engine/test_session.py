from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tradewire.engine.session import SessionClock

NY = ZoneInfo("America/New_York")


def at(*args: int) -> float:
    return datetime(*args, tzinfo=NY).timestamp()


def test_a_new_session_begins_at_midnight_new_york_not_utc():
    clock = SessionClock()
    assert not clock.new_session(at(2026, 11, 24, 15, 0))  # the first call only records
    assert not clock.new_session(at(2026, 11, 24, 19, 30))  # 00:30 UTC: same NY day
    assert clock.new_session(at(2026, 11, 25, 0, 0, 1))
    assert clock.day == "2026-11-25"
    assert not clock.new_session(at(2026, 11, 25, 9, 30))
