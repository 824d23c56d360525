from __future__ import annotations

import pytest

from tradewire.backtest.sanity import Skips, bad_event_reason
from tradewire.venues.polygon.messages import Quote, Trade

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (Quote("A", 10.0, 10.01, 1, 1), None),
        (Quote("A", 0.0, 10.01, 0, 1), None),  # one-sided: the bid side is empty
        (Quote("A", 10.0, 10.0, 1, 1), None),  # locked is a price
        (Quote("A", NAN, 10.01, 1, 1), "non-finite price"),
        (Quote("A", 10.0, INF, 1, 1), "non-finite price"),
        (Quote("A", 10.0, 10.01, NAN, 1), "non-finite size"),
        (Quote("A", -5.0, 10.01, 1, 1), "negative price"),
        (Quote("A", 10.0, 10.01, -1, 1), "negative size"),
        (Quote("A", 0.0, 0.0, 0, 0), "zero price"),
        (Quote("A", 10.02, 10.01, 1, 1), "crossed quote"),
        (Trade("A", 10.0, 5), None),
        (Trade("A", NAN, 5), "non-finite price"),
        (Trade("A", 0.0, 5), "zero price"),
        (Trade("A", -1.0, 5), "negative price"),
        (Trade("A", 10.0, INF), "non-finite size"),
    ],
)
def test_each_bad_event_has_its_reason(event, reason):
    assert bad_event_reason(event) == reason


def test_skips_count_by_reason_in_one_line():
    skips = Skips()
    kept = [
        skips.keep(e)
        for e in (
            Quote("A", 10.02, 10.01, 1, 1),
            Quote("A", NAN, 10.01, 1, 1),
            Quote("A", 10.0, 10.01, 1, 1),
            Quote("A", 10.03, 10.01, 1, 1),
        )
    ]

    assert kept == [False, False, True, False]
    assert skips.line() == "skipped 3 rows: 2 crossed quote, 1 non-finite price"
    assert Skips().line() is None
