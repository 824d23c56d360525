"""Query-string readers of the simulated broker's REST handlers: timestamps, days, page
sizes and limits, answered with Alpaca's 422 when malformed. Split out of rest.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from tradewire.sim.broker.orders import EASTERN, FillRecord, OrderError

ACTIVITIES_PAGE_SIZE = 100  # Alpaca's default and maximum page_size


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise OrderError(422, 40010001, f"invalid timestamp: {value}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _page_size(value: str | None) -> int:
    if value is None or value == "":
        return ACTIVITIES_PAGE_SIZE
    try:
        size = int(value)
    except ValueError:
        size = 0
    if size < 1:
        raise OrderError(422, 40010001, f"invalid page_size: {value[:40]!r}")
    return min(size, ACTIVITIES_PAGE_SIZE)


def _list_limit(value: str | None) -> int:
    # Orders: 50 by default, at most 500 (a larger one is capped); not a number is a 422.
    if value is None or value == "":
        return 50
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if limit < 1:
        raise OrderError(422, 40010001, f"invalid limit: {value[:40]!r}")
    return min(limit, 500)


def _is_plain_date(value: str) -> bool:
    return len(value) == 10 and value[4] == "-" and value[7] == "-"


def _activity_date(value: str | None) -> date | None:
    # ``date``: a day (US/Eastern, the trading day) or a timestamp within it.
    if not value:
        return None
    if _is_plain_date(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise OrderError(422, 40010001, f"invalid date: {value[:40]!r}") from None
    parsed = _parse_time(value)
    assert parsed is not None
    return parsed.astimezone(EASTERN).date()


def _activity_time(value: str | None, name: str) -> datetime | None:
    # A bare day for after/until means that day's start, US/Eastern.
    if value and _is_plain_date(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise OrderError(422, 40010001, f"invalid {name}: {value[:40]!r}") from None
        return datetime(day.year, day.month, day.day, tzinfo=EASTERN)
    return _parse_time(value)


def _activity_matches(
    fill: FillRecord, day: date | None, after: datetime | None, until: datetime | None
) -> bool:
    at = fill.transaction_time
    if after is not None and at <= after:
        return False
    if until is not None and at >= until:
        return False
    return day is None or at.astimezone(EASTERN).date() == day
