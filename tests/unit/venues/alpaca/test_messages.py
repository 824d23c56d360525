from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tradewire.venues.alpaca.messages import ORDER_DECODER, parse_time


def test_order_docs_example_decodes_with_string_decimals(fixture_bytes):
    order = ORDER_DECODER.decode(fixture_bytes("alpaca/http_post_orders.json"))
    assert order.status == "accepted"
    assert order.notional == Decimal("500")
    assert order.qty is None
    assert order.filled_qty == 0
    assert order.order_class == ""
    assert not order.is_terminal


def test_order_with_numbers_and_nanosecond_times_decodes(fixture_bytes):
    order = ORDER_DECODER.decode(fixture_bytes("alpaca/http_get_order_nanos.json"))
    assert order.qty == Decimal("10.0")
    assert order.limit_price == Decimal("165")
    assert order.is_terminal
    created = parse_time(order.created_at)
    assert created is not None
    assert created.utcoffset() == timedelta(hours=-4)
    assert created.microsecond == 981350
