from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from tradewire.errors import FatalBrokerError
from tradewire.venues.alpaca.stream import TradeStreamSession


def session() -> TradeStreamSession:
    return TradeStreamSession(SecretStr("KEY"), SecretStr("SECRETX"))


def test_session_on_connect_authenticates_then_listens(fixture_bytes):
    s = session()
    s.connected()
    (auth,) = [json.loads(m) for m in s.data_to_send()]
    assert auth == {"action": "authenticate", "data": {"key_id": "KEY", "secret_key": "SECRETX"}}

    assert s.receive(fixture_bytes("alpaca/ws_authorization_authorized.json")) is None
    (listen,) = [json.loads(m) for m in s.data_to_send()]
    assert listen == {"action": "listen", "data": {"streams": ["trade_updates"]}}
    s.receive(fixture_bytes("alpaca/ws_listening.json"))
    assert s.listening
    assert "SECRETX" not in repr(s)


def test_session_unauthorized_raises_fatal(fixture_bytes):
    s = session()
    s.connected()
    with pytest.raises(FatalBrokerError, match="access key verification failed"):
        s.receive(fixture_bytes("alpaca/ws_authorization_unauthorized.json"))


def test_session_fill_event_decodes_and_duplicates_are_dropped(fixture_bytes):
    s = session()
    raw = fixture_bytes("alpaca/ws_trade_update_fill.json")
    update = s.receive(raw)
    assert update is not None
    assert update.event == "fill"
    assert str(update.qty) == "0.000599"
    assert update.order.status == "filled"
    assert s.receive(raw) is None  # same execution_id: observed upstream, dropped here
    assert s.duplicates == 1
    assert s.last_event_time == "2022-04-19T13:45:05.233221753-04:00"


def test_session_text_and_malformed_frames(fixture_bytes):
    s = session()
    assert s.receive(fixture_bytes("alpaca/ws_trade_update_fill.json").decode()) is not None
    assert s.receive(b"nonsense") is None
    assert s.receive(b'{"stream":"trade_updates","data":{"event":"new"}}') is None
    assert s.malformed == 2
