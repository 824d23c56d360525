from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tradewire.sim.broker.matching import SimBook
from tradewire.sim.broker.orders import OrderError
from tradewire.sim.market import NBBO

D = Decimal


def quote(bid: float, ask: float, symbol: str = "A") -> NBBO:
    return NBBO(symbol, bid, 100, ask, 100, 0)


def book_with_quote(bid: float = 10.0, ask: float = 10.02, **kwargs) -> SimBook:
    book = SimBook(**kwargs)
    book.on_quote(quote(bid, ask))
    return book


def submit(book: SimBook, **body):
    base = {"symbol": "A", "side": "buy", "type": "market", "time_in_force": "day", "qty": "10"}
    base.update(body)
    order = book.submit(base)
    return order, book.activate(order)


def test_market_buy_fills_at_the_ask_after_activation():
    book = book_with_quote()
    order = book.submit(
        {"symbol": "A", "side": "buy", "type": "market", "time_in_force": "day", "qty": 10}
    )
    assert order.status == "accepted"  # nothing matched inside the POST
    execs = book.activate(order)
    assert [e.event for e in execs] == ["new", "fill"]
    assert execs[1].price == D("10.02")
    assert execs[1].position_qty == 10
    assert book.cash == D(100000) - D("100.20")


def test_market_sell_fills_at_the_bid_and_opens_short():
    book = book_with_quote()
    _, execs = submit(book, side="sell")
    assert execs[-1].price == D("10.00")
    assert book.positions["A"].qty == -10


def test_limit_buy_rests_until_the_ask_crosses():
    book = book_with_quote()
    order, execs = submit(book, type="limit", limit_price="10.00")
    assert [e.event for e in execs] == ["new"]
    assert book.on_quote(quote(9.99, 10.01)) == []
    fills = book.on_quote(quote(9.98, 10.00))
    assert [e.event for e in fills] == ["fill"]
    assert fills[0].price == D("10.00")
    assert order.status == "filled"


def test_marketable_limit_fills_at_the_touch_not_the_limit():
    book = book_with_quote()
    _, execs = submit(book, type="limit", limit_price="10.50")
    assert execs[-1].price == D("10.02")


def test_stop_triggers_on_quote_then_fills_at_market():
    book = book_with_quote()
    _order, execs = submit(book, side="sell", type="stop", stop_price="9.50")
    assert [e.event for e in execs] == ["new"]
    fills = book.on_quote(quote(9.49, 9.51))
    assert fills[0].price == D("9.49")


def test_stop_limit_triggers_but_waits_for_limit():
    book = book_with_quote()
    order, _ = submit(book, side="sell", type="stop_limit", stop_price="9.50", limit_price="9.60")
    assert book.on_quote(quote(9.40, 9.45)) == []
    assert order.triggered
    assert book.on_quote(quote(9.60, 9.62))[0].price == D("9.60")


def test_trailing_stop_tracks_high_water_mark():
    book = book_with_quote()
    order, _ = submit(book, side="sell", type="trailing_stop", trail_price="0.50")
    book.on_quote(quote(11.00, 11.02))
    assert order.hwm == D("11.00")
    assert order.stop_price == D("10.50")
    assert book.on_quote(quote(10.60, 10.62)) == []
    assert book.on_quote(quote(10.49, 10.51))[0].event == "fill"


def test_ioc_limit_not_marketable_is_canceled():
    book = book_with_quote()
    _, execs = submit(book, type="limit", limit_price="9.00", time_in_force="ioc")
    assert [e.event for e in execs] == ["new", "canceled"]


def test_fok_fills_whole_even_with_partial_probability():
    book = book_with_quote(partial_fill_probability=1.0)
    _, execs = submit(book, time_in_force="fok", qty="50")
    assert execs[-1].event == "fill"
    assert execs[-1].qty == 50


def test_partial_fill_then_remainder_on_next_quote():
    book = book_with_quote(partial_fill_probability=1.0, seed=3)
    order, execs = submit(book, qty="10")
    assert execs[-1].event == "partial_fill"
    book.partial_fill_probability = 0.0
    rest = book.on_quote(quote(10.0, 10.02))
    assert rest[-1].event == "fill"
    assert order.filled_qty == 10


def test_cancel_then_cancel_again_is_not_cancelable():
    book = book_with_quote()
    order, _ = submit(book, type="limit", limit_price="9.00")
    assert [e.event for e in book.cancel(order.id)] == ["pending_cancel", "canceled"]
    with pytest.raises(OrderError, match="not cancelable") as exc:
        book.cancel(order.id)
    assert exc.value.status == 422


def test_replace_creates_new_order_and_marks_old_replaced():
    book = book_with_quote()
    old, _ = submit(book, type="limit", limit_price="9.00")
    new, execs = book.replace(old.id, {"limit_price": "9.50"})
    assert old.status == "replaced"
    assert old.replaced_by == new.id
    assert new.replaces == old.id
    assert new.limit_price == D("9.50")
    assert [e.event for e in execs] == ["replaced", "new"]


def test_bracket_children_held_until_entry_fills_and_one_cancels_other():
    book = book_with_quote()
    parent, _execs = submit(
        book,
        order_class="bracket",
        take_profit={"limit_price": "11.00"},
        stop_loss={"stop_price": "9.00"},
    )
    tp, sl = (book.orders[i] for i in parent.legs)
    assert parent.status == "filled"
    assert (tp.status, sl.status) == ("new", "new")
    fills = book.on_quote(quote(11.00, 11.02))
    assert tp.status == "filled"
    assert sl.status == "canceled"
    assert {e.event for e in fills} == {"fill", "canceled"}


def test_bracket_with_inverted_prices_is_rejected():
    book = book_with_quote()
    with pytest.raises(OrderError, match="take_profit"):
        submit(
            book,
            order_class="bracket",
            take_profit={"limit_price": "9.00"},
            stop_loss={"stop_price": "9.50"},
        )


def test_insufficient_buying_power_is_403_with_fields():
    book = book_with_quote(starting_cash=D(50))
    with pytest.raises(OrderError) as exc:
        submit(book)
    assert (exc.value.status, exc.value.code) == (403, 40310000)
    assert "buying_power" in exc.value.extra


def test_duplicate_client_order_id_is_422_even_after_cancel():
    book = book_with_quote()
    order, _ = submit(book, type="limit", limit_price="9.00", client_order_id="dup")
    book.cancel(order.id)
    with pytest.raises(OrderError, match="must be unique") as exc:
        submit(book, client_order_id="dup")
    assert (exc.value.status, exc.value.code) == (422, 40010001)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"limit_price": "10.001", "type": "limit"}, 42210000),
        ({"qty": "0"}, 40010001),
        ({"type": "limit"}, 40010001),
        ({"qty": None}, 40010001),
        ({"extended_hours": True}, 40010001),
    ],
)
def test_validation_errors_use_documented_codes(body, code):
    with pytest.raises(OrderError) as exc:
        submit(book_with_quote(), **body)
    assert exc.value.code == code


def test_market_order_without_quote_waits_for_first_quote():
    book = SimBook()
    _order, execs = submit(book)
    assert [e.event for e in execs] == ["new"]
    assert book.on_quote(quote(10.0, 10.02))[0].event == "fill"


def test_position_average_price_and_flip():
    book = book_with_quote()
    submit(book, qty="10")
    book.on_quote(quote(12.0, 12.02))
    submit(book, qty="10")
    assert book.positions["A"].avg_entry_price == D("11.02")
    submit(book, side="sell", qty="30")
    assert book.positions["A"].qty == -10
    assert book.positions["A"].avg_entry_price == D("12.00")


def test_expire_day_orders_ends_open_day_orders_only():
    book = book_with_quote()
    day, _ = submit(book, type="limit", limit_price="9.00")
    gtc, _ = submit(book, type="limit", limit_price="9.00", time_in_force="gtc")
    assert [e.order.id for e in book.expire_day_orders()] == [day.id]
    assert gtc.is_open


def test_two_books_in_one_process_each_stamp_their_own_clock():
    # A backtest and a simulator in one process: each book's orders, events and fills carry
    # its own clock, never the other's (issue 21, CORE.md finding 7: the clock was a module
    # global swapped by use_clock, shared by every book).
    backtest_t = datetime(2024, 3, 1, 15, 30, tzinfo=UTC)
    sim_t = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
    backtest = book_with_quote(clock=lambda: backtest_t)
    sim = book_with_quote(clock=lambda: sim_t)

    b_order, b_execs = submit(backtest)
    s_order, s_execs = submit(sim, type="limit", limit_price="9.00")
    sim.on_quote(quote(8.98, 9.00))  # fills the sim's resting bid
    b_rest, _ = submit(backtest, type="limit", limit_price="9.00")
    backtest.cancel(b_rest.id)

    for order, t in ((b_order, backtest_t), (s_order, sim_t), (b_rest, backtest_t)):
        assert (order.created_at, order.submitted_at, order.updated_at) == (t, t, t)
    assert b_order.filled_at == backtest_t
    assert s_order.filled_at == sim_t
    assert b_rest.canceled_at == backtest_t
    assert {e.at for e in b_execs} == {backtest_t}
    assert {e.at for e in s_execs} == {sim_t}
    assert [f.transaction_time for f in backtest.fills] == [backtest_t]
    assert [f.transaction_time for f in sim.fills] == [sim_t]
    assert sim.fills[0].id.startswith("20261204120000000::")  # 17:00Z in US/Eastern


def test_a_book_without_a_clock_runs_on_the_wall_clock():
    before = datetime.now(UTC)
    order, execs = submit(book_with_quote())
    after = datetime.now(UTC)
    assert before <= order.created_at <= order.filled_at <= after  # type: ignore[operator]
    assert all(before <= e.at <= after for e in execs)
