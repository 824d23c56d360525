"""Conflation on decoded Polygon frames: the newest quote per symbol, every trade and bar."""

from __future__ import annotations

from tradewire.live.conflation import conflate
from tradewire.venues.polygon.messages import FRAME_DECODER, Quote, Trade

FRAMES = [
    b'[{"ev":"Q","sym":"AAPL","bp":1.0,"ap":1.1,"q":1},{"ev":"Q","sym":"MSFT","bp":5,"ap":6,"q":2}]',
    b'[{"ev":"T","sym":"AAPL","p":1.05,"s":100,"i":"7","q":3},{"ev":"Q","sym":"AAPL","bp":1.01,"ap":1.1,"q":4}]',
    b'[{"ev":"AM","sym":"AAPL","o":1,"h":2,"l":0.5,"c":1.5,"v":10,"s":0,"e":60000},'
    b'{"ev":"Q","sym":"AAPL","bp":1.02,"ap":1.12,"q":5}]',
]


def events() -> list[object]:
    return [ev for frame in FRAMES for ev in FRAME_DECODER.decode(frame)]


def test_only_the_newest_quote_of_each_symbol_is_kept_and_order_holds() -> None:
    kept, skipped = conflate(events())
    assert skipped == 2  # AAPL q=1 and q=4; MSFT's only quote stays
    assert [getattr(e, "sequence", None) for e in kept if type(e) is not Quote] == [3, None]
    quotes = [e for e in kept if type(e) is Quote]
    assert [(q.symbol, q.sequence) for q in quotes] == [("MSFT", 2), ("AAPL", 5)]
    # Trades and bars keep their places relative to the quotes that stay.
    assert [type(e).__name__ for e in kept] == ["Quote", "Trade", "MinuteAggregate", "Quote"]


def test_nothing_to_conflate_returns_everything() -> None:
    evs = FRAME_DECODER.decode(FRAMES[0]) + FRAME_DECODER.decode(FRAMES[1])[:1]
    kept, skipped = conflate(evs)
    assert skipped == 0
    assert kept == list(evs)
    assert conflate([]) == ([], 0)


def test_trades_are_never_conflated() -> None:
    trades = FRAME_DECODER.decode(
        b'[{"ev":"T","sym":"X","p":1,"s":1,"i":"1"},{"ev":"T","sym":"X","p":2,"s":1,"i":"2"}]'
    )
    kept, skipped = conflate(trades)
    assert skipped == 0
    assert [t.price for t in kept if isinstance(t, Trade)] == [1, 2]
