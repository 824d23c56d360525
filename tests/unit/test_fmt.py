"""Numbers as a user reads them (issue 22, item 14): no float artefacts, money to the cent,
quantities whole when whole, prices to the tick (a half-tick mid keeps its digit)."""

from __future__ import annotations

import pytest

from tradewire.fmt import money, price, qty


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (10.0, "10"),
        (1_000.0, "1,000"),
        (-25.0, "-25"),
        (0.5, "0.5"),
        (0.1 + 0.2, "0.3"),
        (1e-05, "0.00001"),
        (12.000000000000002, "12"),
        (0.0, "0"),
        (-0.0, "0"),
    ],
)
def test_quantities_are_whole_when_whole_and_never_scientific(value, text):
    assert qty(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (143.20499999999998, "143.205"),
        (123.45, "123.45"),
        (100.0, "100.00"),
        (1_234.5, "1,234.50"),
        (0.30000000000000004, "0.30"),
        (0.12345678, "0.1235"),
    ],
)
def test_prices_show_the_tick_and_no_artefacts(value, text):
    assert price(value) == text


@pytest.mark.parametrize(
    ("value", "signed", "text"),
    [
        (0.30000000000000004, False, "0.30"),
        (-1_234.567, False, "-1,234.57"),
        (445.5, True, "+445.50"),
        (-0.001, True, "+0.00"),
        (1e-05, True, "+0.00"),
    ],
)
def test_money_has_two_decimals(value, signed, text):
    assert money(value, signed=signed) == text
