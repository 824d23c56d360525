from __future__ import annotations

import msgspec
import pytest

from tradewire.venues.polygon.messages import (
    FRAME_DECODER,
    Aggregate,
    LimitUpLimitDown,
    MinuteAggregate,
    Quote,
    Status,
    Trade,
)


def test_quote_with_vendor_example_decodes_every_field(fixture_bytes):
    # Act
    (quote,) = FRAME_DECODER.decode(fixture_bytes("polygon/ws_quote.json"))

    # Assert
    assert isinstance(quote, Quote)
    assert quote.symbol == "MSFT"
    assert (quote.bid_price, quote.bid_size, quote.bid_exchange) == (114.125, 100, 4)
    assert (quote.ask_price, quote.ask_size, quote.ask_exchange) == (114.128, 160, 7)
    assert quote.condition == 0
    assert quote.indicators == [604]
    assert quote.timestamp == 1536036818784
    assert quote.sequence == 50385480
    assert quote.tape == 3
    assert quote.price == pytest.approx(114.1265)


def test_quote_price_with_one_sided_quote_is_the_present_side():
    assert Quote(symbol="X", bid_price=0.0, ask_price=10.0).price == 10.0
    assert Quote(symbol="X", bid_price=9.5, ask_price=0.0).price == 9.5


def test_trade_with_vendor_example_keeps_string_id_and_condition_list(fixture_bytes):
    (trade,) = FRAME_DECODER.decode(fixture_bytes("polygon/ws_trade.json"))
    assert isinstance(trade, Trade)
    assert trade.id == "12345"
    assert trade.conditions == [0, 12]
    assert (trade.price, trade.size, trade.exchange, trade.tape) == (114.125, 100, 4, 3)


def test_trade_with_fractional_size_and_omitted_optionals_decodes():
    (trade,) = FRAME_DECODER.decode(b'[{"ev":"T","sym":"A","p":1.5,"s":0.25,"ds":"0.25"}]')
    assert trade.size == 0.25
    assert trade.decimal_size == "0.25"
    assert trade.conditions is None
    assert trade.trf_id is None


def test_minute_aggregate_with_vendor_example_maps_z_to_average_size(fixture_bytes):
    (bar,) = FRAME_DECODER.decode(fixture_bytes("polygon/ws_aggregate_minute.json"))
    assert isinstance(bar, MinuteAggregate)
    assert bar.symbol == "GTE"
    assert (bar.open, bar.high, bar.low, bar.close) == (0.4488, 0.4489, 0.4486, 0.4486)
    assert bar.volume == 4110
    assert bar.average_size == 685
    assert (bar.start, bar.end) == (1610144640000, 1610144700000)
    assert bar.otc is False


def test_second_aggregate_with_tag_a_is_not_a_minute_bar():
    (bar,) = FRAME_DECODER.decode(b'[{"ev":"A","sym":"X","o":1,"c":2,"h":2,"l":1,"s":0,"e":1000}]')
    assert type(bar) is Aggregate


def test_luld_with_vendor_example_reads_symbol_from_capital_t(fixture_bytes):
    (luld,) = FRAME_DECODER.decode(fixture_bytes("polygon/ws_luld.json"))
    assert isinstance(luld, LimitUpLimitDown)
    assert luld.symbol == "MSFT"
    assert (luld.limit_up, luld.limit_down) == (218.96, 198.11)


def test_status_with_vendor_example_decodes(fixture_bytes):
    (status,) = FRAME_DECODER.decode(fixture_bytes("polygon/ws_status_connected.json"))
    assert status == Status(status="connected", message="Connected Successfully")


def test_frame_with_mixed_types_keeps_frame_order():
    frame = (
        b'[{"ev":"T","sym":"A","p":1,"s":1},{"ev":"Q","sym":"B","bp":1,"ap":2},'
        b'{"ev":"T","sym":"C","p":3,"s":1}]'
    )
    assert [type(e).__name__ for e in FRAME_DECODER.decode(frame)] == ["Trade", "Quote", "Trade"]


def test_frame_with_unknown_keys_ignores_them():
    (quote,) = FRAME_DECODER.decode(b'[{"ev":"Q","sym":"A","bp":1,"ap":2,"new_field":[1,2]}]')
    assert quote.bid_price == 1


def test_frame_with_unknown_ev_fails_the_fast_decoder():
    # The session's per-item fallback handles this; the fast path must not guess.
    with pytest.raises(msgspec.ValidationError):
        FRAME_DECODER.decode(b'[{"ev":"XYZ","sym":"A"}]')
