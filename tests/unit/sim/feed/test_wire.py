from __future__ import annotations

import json

import pytest

from tradewire.sim.feed import wire


def test_parse_action_with_spaces_and_binary_payload_works():
    assert wire.parse_action(b'{ "action" : "auth", "params" : "k" }') == wire.ClientAction(
        "auth", "k"
    )
    assert wire.parse_action('{"action":"subscribe","params":"Q.A"}').params == "Q.A"


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"nope", "invalid JSON"),
        (b"[1]", "JSON object"),
        (b"{}", "missing 'action'"),
        (b'{"action":"auth","params":1}', "'params' must be a string"),
    ],
)
def test_parse_action_with_bad_message_raises_bad_action(payload, why):
    with pytest.raises(wire.BadAction, match=why):
        wire.parse_action(payload)


def test_split_channels_trims_whitespace_as_vendor_docs_show():
    assert wire.split_channels("AM.AAPL, AM.MSFT,,T.BRK.B ") == ["AM.AAPL", "AM.MSFT", "T.BRK.B"]


@pytest.mark.parametrize(
    ("channel", "ok"),
    [("T.BRK.B", True), ("Q.*", True), ("X.AAPL", False), ("QAAPL", False), ("Q.", False)],
)
def test_channel_valid_checks_stock_event_prefixes(channel, ok):
    assert wire.channel_valid(channel) is ok


def test_status_frames_always_carry_ev_status_and_message():
    for frame in (wire.CONNECTED, wire.AUTH_SUCCESS, wire.AUTH_FAILED, wire.MAX_CONNECTIONS):
        (obj,) = json.loads(frame)
        assert set(obj) == {"ev", "status", "message"}
        assert obj["ev"] == "status"


def test_event_channel_uses_t_for_luld():
    assert wire.event_channel({"ev": "LULD", "T": "MSFT"}) == ("LULD", "MSFT")
    assert wire.event_channel({"ev": "Q", "sym": "A"}) == ("Q", "A")


def test_batch_respects_byte_cap_and_keeps_order():
    items = [json.dumps({"ev": "Q", "n": i}).encode() for i in range(100)]
    frames = wire.batch(items, max_bytes=200)
    assert all(len(f) <= 200 for f in frames)
    decoded = [obj["n"] for f in frames for obj in json.loads(f)]
    assert decoded == list(range(100))


def test_batch_with_oversized_item_sends_it_alone():
    big = b'{"ev":"Q","x":"' + b"a" * 300 + b'"}'
    frames = wire.batch([b"{}", big, b"{}"], max_bytes=100)
    assert frames == [b"[{}]", b"[" + big + b"]", b"[{}]"]
