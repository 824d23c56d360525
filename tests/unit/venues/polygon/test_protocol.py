from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from tradewire.errors import AuthError, MaxConnectionsError, RemoteProtocolError
from tradewire.venues.polygon.messages import Quote, Trade
from tradewire.venues.polygon.protocol import (
    Authenticated,
    FeedSession,
    ServerNotice,
    SessionError,
    SessionState,
    SubscriptionAck,
    normalize_channels,
)

KEY = "pk_secret_123"


def sent(session: FeedSession) -> list[dict[str, str]]:
    return [json.loads(m) for m in session.data_to_send()]


def authed_session(fixture_bytes) -> FeedSession:
    session = FeedSession(SecretStr(KEY))
    session.receive(fixture_bytes("polygon/ws_status_connected.json"))
    session.receive(fixture_bytes("polygon/ws_status_auth_success.json"))
    session.data_to_send()
    session.control_events.clear()
    return session


def test_session_on_connected_sends_auth_with_key(fixture_bytes):
    # Arrange
    session = FeedSession(SecretStr(KEY))

    # Act
    events = session.receive(fixture_bytes("polygon/ws_status_connected.json"))

    # Assert
    assert events == []
    assert sent(session) == [{"action": "auth", "params": KEY}]
    assert session.state is SessionState.AUTHENTICATING


def test_session_before_connected_sends_nothing():
    session = FeedSession(SecretStr(KEY))
    session.subscribe(["Q.AAPL"])
    assert session.data_to_send() == []


def test_session_with_auth_success_subscribes_the_desired_set(fixture_bytes):
    session = FeedSession(SecretStr(KEY))
    session.subscribe(["Q.MSFT", "T.AAPL"])
    session.receive(fixture_bytes("polygon/ws_status_connected.json"))
    session.data_to_send()

    session.receive(fixture_bytes("polygon/ws_status_auth_success.json"))

    assert session.state is SessionState.AUTHENTICATED
    assert sent(session) == [{"action": "subscribe", "params": "Q.MSFT,T.AAPL"}]
    assert session.control_events == [Authenticated()]


def test_session_with_historic_success_authenticated_reply_is_authenticated():
    session = FeedSession(SecretStr(KEY))
    session.receive(b'[{"ev":"status","status":"connected","message":"Connected Successfully"}]')
    session.receive(b'[{"ev":"status","status":"success","message":"authenticated"}]')
    assert session.state is SessionState.AUTHENTICATED


def test_session_with_auth_failed_reports_fatal_auth_error(fixture_bytes):
    session = FeedSession(SecretStr(KEY))
    session.receive(fixture_bytes("polygon/ws_status_connected.json"))
    session.receive(fixture_bytes("polygon/ws_status_auth_failed.json"))

    (event,) = session.control_events
    assert isinstance(event, SessionError)
    assert event.fatal
    assert isinstance(event.error, AuthError)
    assert KEY not in str(event.error)
    assert session.state is SessionState.CLOSED


def test_session_with_max_connections_reports_non_fatal_typed_error(fixture_bytes):
    session = authed_session(fixture_bytes)
    session.receive(fixture_bytes("polygon/ws_status_max_connections.json"))
    (event,) = session.control_events
    assert isinstance(event, SessionError)
    assert isinstance(event.error, MaxConnectionsError)
    assert not event.fatal


def test_session_with_subscribe_ack_marks_channel_confirmed(fixture_bytes):
    session = authed_session(fixture_bytes)
    session.subscribe(["T.AAPL"])
    session.receive(fixture_bytes("polygon/ws_status_subscribed.json"))
    assert session.confirmed == {"T.AAPL"}
    assert session.control_events == [SubscriptionAck("T.AAPL", subscribed=True)]


def test_session_subscribe_when_authenticated_sends_only_new_channels(fixture_bytes):
    session = authed_session(fixture_bytes)
    session.subscribe(["Q.A"])
    session.data_to_send()
    assert session.subscribe(["Q.A", "Q.B"]) == ["Q.B"]
    assert sent(session) == [{"action": "subscribe", "params": "Q.B"}]


def test_session_unsubscribe_sends_and_forgets(fixture_bytes):
    session = authed_session(fixture_bytes)
    session.subscribe(["Q.A", "Q.B"])
    session.data_to_send()
    session.unsubscribe(["Q.A", "Q.NOTSUBSCRIBED"])
    assert sent(session) == [{"action": "unsubscribe", "params": "Q.A"}]
    assert session.desired == {"Q.B"}


def test_session_reset_after_drop_resubscribes_everything(fixture_bytes):
    # The official client's bug #800: subscriptions lost across reconnects. Ours keeps them.
    session = authed_session(fixture_bytes)
    session.subscribe(["Q.A", "T.BRK.B", "AM.*"])
    session.data_to_send()

    session.reset()
    session.receive(fixture_bytes("polygon/ws_status_connected.json"))
    session.receive(fixture_bytes("polygon/ws_status_auth_success.json"))

    messages = sent(session)
    assert messages[0]["action"] == "auth"
    assert messages[1] == {"action": "subscribe", "params": "AM.*,Q.A,T.BRK.B"}


def test_session_receive_with_mixed_frame_returns_events_in_order(fixture_bytes):
    session = authed_session(fixture_bytes)
    events = session.receive(
        b'[{"ev":"Q","sym":"A","bp":1,"ap":2},{"ev":"T","sym":"A","p":1.5,"s":10}]'
    )
    assert [type(e) for e in events] == [Quote, Trade]
    assert session.events == 2


def test_session_with_unknown_ev_keeps_known_items_and_counts(fixture_bytes, caplog):
    session = authed_session(fixture_bytes)
    frame = b'[{"ev":"Q","sym":"A","bp":1,"ap":2},{"ev":"NEW","x":1},{"ev":"NEW"},{"ev":"T","sym":"B","p":1,"s":1}]'
    events = session.receive(frame)
    assert [e.symbol for e in events] == ["A", "B"]
    assert session.unknown_events == 2
    assert sum("unknown event type" in r.message for r in caplog.records) == 1  # logged once


def test_session_with_malformed_item_drops_only_that_item(fixture_bytes):
    session = authed_session(fixture_bytes)
    frame = b'[{"ev":"Q","sym":"A","bp":1,"ap":2},{"ev":"Q","sym":"B","bp":"oops"},{"ev":"Q","sym":"C"},7]'
    events = session.receive(frame)
    assert [e.symbol for e in events] == ["A", "C"]
    assert session.malformed_items == 2
    errors = [e for e in session.control_events if isinstance(e, SessionError)]
    assert len(errors) == 2
    assert all(isinstance(e.error, RemoteProtocolError) and not e.fatal for e in errors)


@pytest.mark.parametrize(
    "payload",
    [b'[{"ev":"Q","sym":"A","bp":1', b"not json", b'{"ev":"Q"}', b"", b"\xff\xfe"],
    ids=["truncated", "garbage", "object-not-array", "empty", "invalid-utf8"],
)
def test_session_with_broken_frame_never_raises(fixture_bytes, payload):
    session = authed_session(fixture_bytes)
    assert session.receive(payload) == []
    assert session.malformed_frames == 1
    assert any(isinstance(e, ServerNotice) for e in session.control_events)
    # the session still works afterwards
    assert len(session.receive(b'[{"ev":"Q","sym":"A","bp":1,"ap":2}]')) == 1


def test_session_receive_accepts_memoryview_and_str(fixture_bytes):
    session = authed_session(fixture_bytes)
    raw = b'[{"ev":"Q","sym":"A","bp":1,"ap":2}]'
    assert len(session.receive(memoryview(raw))) == 1
    assert len(session.receive(raw.decode())) == 1


def test_session_repr_and_errors_never_contain_the_key(fixture_bytes):
    session = FeedSession(SecretStr(KEY))
    assert KEY not in repr(session)


def test_session_with_error_status_surfaces_a_notice(fixture_bytes):
    session = authed_session(fixture_bytes)
    session.receive(b'[{"ev":"status","status":"error","message":"not entitled to Q.X"}]')
    assert session.control_events == [ServerNotice("error", "not entitled to Q.X")]


def test_normalize_channels_trims_and_splits_on_first_dot_only():
    assert normalize_channels([" q.BRK.B ", "", "T.*"]) == ["Q.BRK.B", "T.*"]


@pytest.mark.parametrize("bad", ["AAPL", "Q.", ".AAPL"])
def test_normalize_channels_with_bad_channel_raises(bad):
    with pytest.raises(ValueError, match=r"CHANNEL\.TICKER"):
        normalize_channels([bad])


# -- hostile peers: bounded memory and bounded logging --------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def unknown_frames(n: int, per_frame: int = 1000) -> list[bytes]:
    return [
        json.dumps([{"ev": f"X{i}", "n": i} for i in range(start, start + per_frame)]).encode()
        for start in range(0, n, per_frame)
    ]


def test_session_with_100k_distinct_unknown_ev_types_stays_bounded(fixture_bytes, caplog):
    # A hostile peer sent 1.85 M distinct types in 25 s: one WARNING each, and a set that
    # remembered every one of them. Memory and log volume must not follow the peer.
    session = authed_session(fixture_bytes)
    caplog.clear()

    for frame in unknown_frames(100_000):
        assert session.receive(frame) == []

    assert session.unknown_events == 100_000  # every event is still counted
    assert len(session.unknown_types) <= 64
    warnings = [r for r in caplog.records if r.name == "tradewire.venues.polygon.protocol"]
    assert len(warnings) <= 20
    # The session still decodes known events after the flood.
    assert len(session.receive(b'[{"ev":"Q","sym":"A","bp":1,"ap":2}]')) == 1


def test_session_unknown_ev_warnings_resume_with_a_summary_after_the_window(caplog):
    clock = FakeClock()
    session = FeedSession(SecretStr(KEY), clock=clock)
    for frame in unknown_frames(5_000):
        session.receive(frame)
    first = len(caplog.records)
    assert first <= 20

    clock.now += 3600
    session.receive(b'[{"ev":"LATE"}]')

    later = [r.getMessage() for r in caplog.records[first:]]
    assert any("suppressed" in m and "4990" in m for m in later), later
    assert len(later) <= 2
    assert session.unknown_events == 5_001


def test_session_with_flood_of_malformed_items_and_odd_statuses_logs_a_bounded_amount(
    fixture_bytes, caplog
):
    session = authed_session(fixture_bytes)
    caplog.clear()
    bad_items = json.dumps([{"ev": "Q", "sym": "A", "bp": "oops"}] * 1000).encode()
    odd_status = b'[{"ev":"status","status":"weird","message":"?"}]'
    for _ in range(20):
        session.receive(bad_items)
        session.receive(b"not json")
    for _ in range(5_000):
        session.receive(odd_status)

    assert session.malformed_items == 20_000
    assert session.malformed_frames == 20
    assert len(caplog.records) <= 40


def test_session_ignores_acks_for_channels_it_never_asked_for(fixture_bytes):
    # Unsolicited "subscribed to: ..." acks must not grow the confirmed set.
    session = authed_session(fixture_bytes)
    session.subscribe(["Q.AAPL"])
    for i in range(10_000):
        session.receive(
            f'[{{"ev":"status","status":"success","message":"subscribed to: Q.JUNK{i}"}}]'.encode()
        )
    session.receive(b'[{"ev":"status","status":"success","message":"subscribed to: Q.AAPL"}]')
    assert session.confirmed == {"Q.AAPL"}
