"""One key per asset through Alpaca's reports (issue 23's headline bug): a real crypto order
says ``BTC/USD``, the real position for it says ``BTCUSD``; keyed by the raw symbol the
reconciler zeroed ``BTC/USD`` and booked a second ``BTCUSD`` position on its next round.
Every symbol of a report now goes through ``instrument_key(symbol, asset_class)`` with the
message's own asset class."""

from __future__ import annotations

from pathlib import Path

import msgspec

from tradewire.engine.positions import PositionBook
from tradewire.engine.reconcile import PositionCheck, startup_corrections
from tradewire.venues.alpaca.messages import Order, Position
from tradewire.venues.alpaca.reports import broker_positions, fact_from, report_key

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "alpaca" / "crypto"


def _order() -> Order:
    raw = (FIXTURES / "broker__integration__crypto-trading-broker__9.json").read_bytes()
    return msgspec.json.decode(raw, type=Order)


def _position() -> Position:
    raw = (FIXTURES / "entity__position-crypto.json").read_bytes()
    return msgspec.json.decode(raw, type=Position)


def test_the_real_crypto_order_and_position_name_one_key():
    order, position = _order(), _position()
    assert (order.symbol, position.symbol) == ("BTC/USD", "BTCUSD")  # the venue's two forms
    assert fact_from(order).symbol == "BTC/USD"
    assert list(broker_positions([position])) == ["BTC/USD"]


def test_a_legacy_bare_symbol_on_a_crypto_order_is_the_pair():
    order = msgspec.structs.replace(_order(), symbol="BTCUSD")
    assert fact_from(order).symbol == "BTC/USD"


def test_stocks_and_unknown_asset_classes_keep_their_symbol():
    assert report_key("AAPL", "us_equity") == "AAPL"
    assert report_key("BTCUSD", "us_equity") == "BTCUSD"  # the message says it is a stock
    assert report_key("SPY260731P00395000", "us_option") == "SPY260731P00395000"
    assert report_key("AAPL", None) == "AAPL"


def _book_after_the_fill() -> PositionBook:
    """The engine's book after the crypto order filled: keyed as its fact says."""
    book = PositionBook()
    fact = fact_from(_order())
    position = _position()
    book.apply_fill(fact.symbol, "buy", float(position.qty), float(position.avg_entry_price))
    return book


def test_the_reconciler_books_one_position_for_the_crypto_order_and_position():
    book = _book_after_the_fill()
    broker = broker_positions([_position()])
    check = PositionCheck()
    for _ in range(3):  # a difference is acted on when seen twice: three rounds, none
        assert check.compare(book, broker, fills=1) == {}
    assert list(book.positions) == ["BTC/USD"]


def test_start_up_takes_the_crypto_position_under_its_one_key():
    book = _book_after_the_fill()
    broker = broker_positions([_position()])
    events = startup_corrections(book, book, broker)
    assert {e.symbol for e in events} <= {"BTC/USD"}
    assert all(e.qty for e in events)  # nothing zeroed


def test_an_unkeyed_book_would_have_two_positions():
    """What the raw symbols did (kept to show the bug the keys fix)."""
    book = _book_after_the_fill()
    raw = {p.symbol: (float(p.qty), float(p.avg_entry_price)) for p in [_position()]}
    check = PositionCheck()
    check.compare(book, raw, fills=1)
    fixes = check.compare(book, raw, fills=1)
    assert fixes == {"BTC/USD": (0.0, 0.0), "BTCUSD": (2.61937, 19660.5738784516887649)}
