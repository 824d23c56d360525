"""Our PolygonClient against the feed simulator, over real sockets on loopback."""

from __future__ import annotations

import asyncio

import pytest

from tradewire import PolygonClient
from tradewire.errors import AuthError, FeedClosedError, MaxConnectionsError
from tradewire.sim.feed.server import PolygonFeedServer
from tradewire.venues.polygon.config import PolygonFeedConfig
from tradewire.venues.polygon.messages import (
    Aggregate,
    LimitUpLimitDown,
    MinuteAggregate,
    Quote,
    Trade,
)

Q_AAPL = {
    "ev": "Q",
    "sym": "AAPL",
    "bx": 11,
    "bp": 190.0,
    "bs": 2,
    "ax": 12,
    "ap": 190.04,
    "as": 3,
    "c": 1,
    "t": 1,
    "q": 1,
    "z": 3,
}
Q_GOOGL = {**Q_AAPL, "sym": "GOOGL", "bp": 170.0, "ap": 170.02}
Q_MSFT = {**Q_AAPL, "sym": "MSFT"}
T_AAPL = {"ev": "T", "sym": "AAPL", "x": 4, "i": "7", "z": 3, "p": 190.01, "s": 100, "t": 2, "q": 2}

FAST = PolygonFeedConfig(reconnect_initial_s=0.01, reconnect_max_s=0.05, stale_after_s=0)


@pytest.fixture
async def feed():
    async with PolygonFeedServer() as server:
        yield server


async def test_seed_usage_with_subscribe_quotes_receives_symbol_and_midpoint(feed, until):
    # Arrange
    quotes: list[Quote] = []

    async def on_quote(quote: Quote) -> None:
        quotes.append(quote)

    client = PolygonClient("test-key", url=feed.url())

    # Act
    await client.subscribe_quotes(["AAPL", "GOOGL"], on_quote)
    feed.publish([Q_AAPL, Q_MSFT, Q_GOOGL])
    await until(lambda: len(quotes) == 2)

    # Assert
    assert [q.symbol for q in quotes] == ["AAPL", "GOOGL"]
    assert quotes[0].price == pytest.approx(190.02)
    assert quotes[1].bid_price == 170.0
    await client.close()


async def test_client_with_sync_handlers_gets_trades_bars_and_luld(feed, until):
    got: list[object] = []
    client = PolygonClient("test-key", url=feed.url(), config=FAST)
    await client.subscribe_trades(["AAPL"], got.append)
    await client.subscribe_aggregates(["AAPL"], got.append)
    await client.subscribe_minute_aggregates(["AAPL"], got.append)
    await client.subscribe_luld(["AAPL"], got.append)
    bar = {"ev": "A", "sym": "AAPL", "o": 1, "c": 2, "h": 2, "l": 1, "v": 5, "s": 0, "e": 1000}
    feed.publish(
        [T_AAPL, bar, {**bar, "ev": "AM"}, {"ev": "LULD", "T": "AAPL", "h": 2, "l": 1, "t": 3}]
    )
    await until(lambda: len(got) == 4)
    assert [type(x) for x in got] == [Trade, Aggregate, MinuteAggregate, LimitUpLimitDown]
    await client.close()


async def test_client_with_wildcard_and_specific_subscription_delivers_each_event_once(feed, until):
    got: list[Quote] = []
    client = PolygonClient("test-key", url=feed.url(), config=FAST)
    await client.subscribe_quotes(["*"], got.append)
    await client.subscribe_quotes(["AAPL"], got.append)
    feed.publish([Q_AAPL, Q_MSFT])
    await until(lambda: len(got) >= 2)
    await asyncio.sleep(0.02)
    assert sorted(q.symbol for q in got) == ["AAPL", "MSFT"]
    await client.close()


async def test_client_unsubscribe_stops_delivery(feed, until):
    got: list[Quote] = []
    client = PolygonClient("test-key", url=feed.url(), config=FAST)
    await client.subscribe_quotes(["AAPL", "MSFT"], got.append)
    await client.unsubscribe_quotes(["AAPL"])
    await until(lambda: feed.subscriber_count("Q.AAPL") == 0)
    feed.publish([Q_AAPL, Q_MSFT])
    await until(lambda: len(got) == 1)
    assert got[0].symbol == "MSFT"
    assert {"conn": 1, "action": "unsubscribe", "params": "Q.AAPL"} in feed.actions
    await client.close()


async def test_client_with_wrong_key_raises_auth_error_and_does_not_retry(feed):
    client = PolygonClient("wrong-key", url=feed.url(), config=FAST)
    with pytest.raises(AuthError, match="refused"):
        await client.subscribe_quotes(["AAPL"], print)
    with pytest.raises(AuthError):
        await client.run()
    assert client.reconnects == 0
    assert "wrong-key" not in repr(client)
    await client.close()


async def test_client_after_server_kick_1011_reconnects_and_resubscribes_all(feed, until):
    got: list[Quote] = []
    client = PolygonClient("test-key", url=feed.url(), config=FAST, seed=1)
    await client.subscribe_quotes(["AAPL", "GOOGL"], got.append)
    await client.subscribe_trades(["AAPL"], got.append)

    await feed.close_all(1011)
    await until(lambda: client.reconnects == 1 and feed.connection_count == 1)
    await feed.wait_for_subscribers("T.AAPL")
    await feed.wait_for_subscribers("Q.GOOGL")
    feed.publish([Q_GOOGL])
    await until(lambda: len(got) == 1)

    subscribes = [a for a in feed.actions if a["action"] == "subscribe"]
    assert subscribes[-1]["params"] == "Q.AAPL,Q.GOOGL,T.AAPL"
    await client.close()


async def test_client_after_tcp_drop_reconnects(feed, until):
    got: list[Quote] = []
    client = PolygonClient("test-key", url=feed.url(), config=FAST)
    await client.subscribe_quotes(["AAPL"], got.append)
    feed.drop_all()
    await until(lambda: client.reconnects >= 1 and feed.connection_count == 1)
    await feed.wait_for_subscribers("Q.AAPL")
    feed.publish([Q_AAPL])
    await until(lambda: len(got) == 1)
    await client.close()


async def test_client_evicted_by_max_connections_reports_typed_error_and_reconnects(feed, until):
    notices: list[Exception] = []
    first = PolygonClient("test-key", url=feed.url(), config=FAST)
    await first.subscribe_quotes(["AAPL"], print)
    original = first._on_control

    def spy(transport):
        from tradewire.venues.polygon.protocol import SessionError

        notices.extend(e.error for e in first.session.control_events if isinstance(e, SessionError))
        original(transport)

    first._on_control = spy  # observe the typed error the session produced
    second = PolygonClient("test-key", url=feed.url(), config=FAST)
    await second.connect()
    await until(lambda: any(isinstance(n, MaxConnectionsError) for n in notices))
    await second.close()
    await first.close()


async def test_client_with_malformed_frames_keeps_connection_and_counts(feed, until):
    got: list[Quote] = []
    client = PolygonClient("test-key", url=feed.url(), config=FAST)
    await client.subscribe_quotes(["AAPL"], got.append)
    feed.publish_raw(b"this is not json")
    feed.publish_raw(b'[{"ev":"Q","sym":"AAPL","bp":"bad"},{"ev":"Q","sym":"AAPL","bp":1,"ap":2}]')
    feed.publish([Q_AAPL])
    await until(lambda: len(got) == 2)
    assert client.session.malformed_frames == 1
    assert client.session.malformed_items == 1
    assert client.reconnects == 0
    await client.close()


async def test_client_with_raising_handler_keeps_dispatching(feed, until):
    got: list[Quote] = []

    def bad(_: Quote) -> None:
        raise RuntimeError("strategy bug")

    client = PolygonClient("test-key", url=feed.url(), config=FAST)
    await client.subscribe_quotes(["AAPL"], bad)
    await client.subscribe_quotes(["MSFT"], got.append)
    feed.publish([Q_AAPL, Q_MSFT])
    await until(lambda: len(got) == 1)
    assert client.handler_errors == 1
    await client.close()


async def test_client_with_stale_feed_recycles_connection(feed, until):
    stale: list[Exception] = []
    cfg = PolygonFeedConfig(reconnect_initial_s=0.01, reconnect_max_s=0.05, stale_after_s=0.2)
    client = PolygonClient("test-key", url=feed.url(), config=cfg)
    client.on_stale = stale.append
    await client.subscribe_quotes(["AAPL"], print)
    await until(lambda: len(stale) >= 1 and client.reconnects >= 1, timeout_s=5)
    await client.close()


async def test_client_close_is_clean_and_run_returns(feed, until):
    client = PolygonClient("test-key", url=feed.url(), config=FAST)
    await client.subscribe_quotes(["AAPL"], print)
    runner = asyncio.create_task(client.run())
    await client.close()
    await asyncio.wait_for(runner, 5)
    await until(lambda: feed.connection_count == 0)
    assert client.reconnects == 0


async def test_client_closed_during_handshake_does_not_keep_the_new_connection(
    feed, until, hold_ws_connect
):
    # close() racing a (re)connect used to leave the fresh connection open and close() waiting
    # on it forever: the CI hang of the max-connections ping-pong test. The real ws_connect is
    # held back until close() has run, which makes the race certain.
    import tradewire.net.websocket as websocket_module

    in_handshake, release = hold_ws_connect(websocket_module)
    client = PolygonClient("test-key", url=feed.url(), config=FAST)
    connecting = asyncio.create_task(client.connect())
    await asyncio.wait_for(in_handshake.wait(), 5)
    closing = asyncio.create_task(client.close())
    await asyncio.sleep(0)
    release.set()
    await asyncio.wait_for(closing, 5)
    with pytest.raises(FeedClosedError):
        await asyncio.wait_for(connecting, 5)
    await until(lambda: feed.connection_count == 0)


async def test_client_on_events_sink_gets_frames_with_receive_time(feed, until):
    frames: list[tuple[int, int]] = []
    client = PolygonClient("test-key", url=feed.url(), config=FAST)
    client.on_events(lambda events, ns: frames.append((len(events), ns)))
    await client.subscribe_quotes(["AAPL"])
    feed.publish([Q_AAPL, Q_AAPL])
    await until(lambda: len(frames) == 1)
    assert frames[0][0] == 2
    assert frames[0][1] > 0
    await client.close()


async def test_client_after_server_clean_close_reconnects_by_default(feed, until):
    client = PolygonClient("test-key", url=feed.url(), config=FAST)
    await client.subscribe_quotes(["AAPL"], print)
    await feed.close_all(1000)
    await until(lambda: client.reconnects == 1 and feed.connection_count == 1)
    await client.close()
