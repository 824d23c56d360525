"""The simulator's rarer trade_updates events and its frames' shape (finding 18)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tradewire.sim.broker import lifecycle, wire
from tradewire.sim.broker.lifecycle import VenueScript
from tradewire.sim.broker.matching import SimBook
from tradewire.sim.broker.orders import OrderError
from tradewire.sim.market import NBBO
from tradewire.venues.alpaca.messages import STREAM_DECODER, TRADE_UPDATE_DECODER

REFERENCE = Path("/work/shared/reference/fixtures")
RESTING = {"symbol": "A", "side": "buy", "type": "limit", "limit_price": "9", "qty": "10"}


def booked(**body: object) -> tuple[SimBook, object]:
    book = SimBook()
    book.on_quote(NBBO("A", 10.0, 100, 10.02, 100, 0))
    order = book.submit({"time_in_force": "day", **RESTING, **body})
    return book, order


def test_announced_orders_get_pending_new_before_new():
    book, order = booked()
    execs = lifecycle.activate(book, order, VenueScript(announce=("pending_new",)))
    assert [(e.event, e.status) for e in execs] == [("pending_new", "pending_new"), ("new", "new")]


def test_a_rejected_order_is_answered_then_rejected_and_never_routed():
    book, order = booked()
    script = VenueScript(reject_next=1)
    execs = lifecycle.activate(book, order, script)
    assert [(e.event, e.status) for e in execs] == [("rejected", "rejected")]
    assert order.failed_at is not None
    assert script.reject_next == 0
    assert book.open_orders() == []


def test_a_refused_cancel_leaves_the_order_working():
    book, order = booked()
    book.activate(order)
    execs = lifecycle.refuse_cancel(book, order.id)
    assert [(e.event, e.status) for e in execs] == [("order_cancel_rejected", "new")]
    assert order.is_open


def test_a_cancel_of_a_filled_order_is_still_a_422():
    book, order = booked(limit_price="11")
    book.activate(order)
    assert order.status == "filled"
    with pytest.raises(OrderError) as exc:
        lifecycle.refuse_cancel(book, order.id)
    assert exc.value.status == 422


def test_a_refused_replace_keeps_the_original_and_rejects_the_replacement():
    book, order = booked()
    book.activate(order)
    new, execs = lifecycle.refuse_replace(book, order.id, {"limit_price": "9.5"})
    assert [(e.event, e.order.id, e.status) for e in execs] == [
        ("order_replace_rejected", order.id, "new"),
        ("rejected", new.id, "rejected"),
    ]
    assert order.status == "new"
    assert order.replaced_by is None
    assert book.get(new.id).replaces == order.id


def test_script_knobs_are_set_all_or_none():
    script = VenueScript()
    with pytest.raises(ValueError, match="announce"):
        script.update({"reject_next": 2, "announce": ["filled"]})
    assert script.reject_next == 0
    script.update({"reject_next": 2, "announce": ["accepted", "pending_new"]})
    assert script.knobs()["announce"] == ["accepted", "pending_new"]


# -- the frames carry the keys the real ones carry, and no others -------------------------------


def test_stream_frames_have_the_keys_of_the_real_frame(fixture_bytes):
    # Arrange
    real = json.loads(fixture_bytes("alpaca/ws_trade_update_fill.json"))["data"]
    book, order = booked(limit_price="11")
    fill = book.activate(order)[-1]

    # Act
    frame = wire.trade_update_json(fill, book)

    # Assert: same keys; and our decoder reads it as it reads the real one
    assert set(frame["data"]) == set(real)
    assert set(frame["data"]["order"]) == set(real["order"])
    encoded = json.dumps(frame).encode()
    update = TRADE_UPDATE_DECODER.decode(STREAM_DECODER.decode(encoded).data)
    assert (update.event, update.qty) == ("fill", 10)


def test_rest_orders_have_the_keys_of_the_real_ones():
    real = json.loads((REFERENCE / "alpaca-openapi/getallorders_examples.json").read_bytes())
    book, order = booked()
    assert set(wire.order_json(order, book)) == set(real["Equity"])
