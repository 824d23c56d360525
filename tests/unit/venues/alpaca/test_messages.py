from __future__ import annotations

import json
import logging
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tradewire.venues.alpaca.messages import (
    FILL_ACTIVITIES_DECODER,
    ORDER_DECODER,
    ORDERS_DECODER,
    POSITIONS_DECODER,
    parse_time,
    received,
)


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


# -- finding 15: a list is decoded item by item; one odd element does not reject the page ------

REFERENCE = Path("/work/shared/reference/fixtures")


def _reference(name: str) -> Any:
    return json.loads((REFERENCE / name).read_bytes())


def _real_orders() -> list[dict[str, Any]]:
    examples = _reference("alpaca-openapi/getallorders_examples.json")
    return [v for k, v in examples.items() if not k.startswith("_")]


def test_orders_page_keeps_every_good_order_and_counts_the_odd_one(caplog):
    # Arrange: the OpenAPI examples (equity, option, crypto, mleg) and one corrupted element
    orders = _real_orders()
    corrupted = dict(orders[0], client_order_id=12345, status=None)
    page = json.dumps([orders[0], corrupted, *orders[1:]]).encode()
    before = ORDERS_DECODER.refused

    # Act
    with caplog.at_level(logging.WARNING):
        decoded = ORDERS_DECODER.decode(page)

    # Assert
    assert [o.id for o in decoded] == [o["id"] for o in orders]
    assert ORDERS_DECODER.refused == before + 1
    assert received(decoded) == 5
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "client_order_id" in warnings[0].getMessage()


def test_positions_page_keeps_the_good_position():
    # Arrange: the docs' crypto position and a copy whose qty is not a number
    position = _reference("alpaca-docs/entity__position-crypto.json")
    page = json.dumps([position, dict(position, symbol="ETHUSD", qty="lots")]).encode()

    # Act
    decoded = POSITIONS_DECODER.decode(page)

    # Assert
    assert [(p.symbol, p.qty) for p in decoded] == [("BTCUSD", Decimal("2.61937"))]
    assert received(decoded) == 2


def test_fill_activities_page_keeps_the_good_fills():
    # Arrange: the documented FILL shape, and one without an order_id
    fill = {
        "id": "20190524113406977::8efc7b9a-8b2b-4000-9955-d36e7db0df74",
        "activity_type": "FILL",
        "transaction_time": "2019-05-24T15:34:06.977Z",
        "type": "partial_fill",
        "price": "1.63",
        "qty": "4",
        "side": "buy",
        "symbol": "LPCN",
        "leaves_qty": "0",
        "order_id": "904837e3-3b76-47ec-b432-046db621571b",
        "cum_qty": "4",
        "order_status": "filled",
    }
    bad = {k: v for k, v in fill.items() if k != "order_id"}
    page = json.dumps([bad, fill]).encode()

    # Act
    decoded = FILL_ACTIVITIES_DECODER.decode(page)

    # Assert
    assert [a.order_id for a in decoded] == [fill["order_id"]]
    assert received(decoded) == 2


def test_a_body_that_is_not_a_list_still_fails_whole():
    with pytest.raises(msgspec.DecodeError):
        ORDERS_DECODER.decode(b'{"code": 50010000}')
    with pytest.raises(msgspec.DecodeError):
        ORDERS_DECODER.decode(b"[{")
