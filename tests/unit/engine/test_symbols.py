from __future__ import annotations

import pytest

from tradewire.engine.symbols import normalize_symbol, normalize_symbols


def test_a_symbol_is_upper_case_and_stripped():
    assert normalize_symbol(" aapl ") == "AAPL"
    assert normalize_symbol("brk.b") == "BRK.B"
    assert normalize_symbols(["aapl", "MSFT", "AAPL"]) == ["AAPL", "MSFT"]


@pytest.mark.parametrize(("raw", "says"), [("", "empty"), ("MS FT", "not a ticker"), ("1A", "not")])
def test_what_is_no_ticker_is_one_clear_error(raw, says):
    with pytest.raises(ValueError, match=says):
        normalize_symbol(raw)
