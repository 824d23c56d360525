from __future__ import annotations

import pytest

from tradewire.record.cli import BadArgument, parse_symbols


def test_record_symbols_follow_the_one_rule():
    # Before: upper-cased silently by a rule of its own; now engine.symbols' rule, named.
    assert parse_symbols("msft, aapl,AAPL") == ["AAPL", "MSFT"]
    assert parse_symbols("*") == ["*"]
    with pytest.raises(BadArgument, match="--symbols: symbol 'MS FT' is not a ticker"):
        parse_symbols("MS FT")
