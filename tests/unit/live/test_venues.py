"""The venue settings never show a key (issue 11: dataclasses.asdict held all three)."""

from __future__ import annotations

import dataclasses

from tradewire.live.node import Venues


def test_asdict_and_repr_of_the_venue_settings_hold_no_key():
    venues = Venues(
        "paper",
        "wss://feed",
        "https://broker",
        "wss://stream",
        "pk-SECRET-1",
        "ak-SECRET-2",
        "as-SECRET-3",
    )
    shown = repr(dataclasses.asdict(venues)) + repr(venues) + str(venues)
    for secret in ("pk-SECRET-1", "ak-SECRET-2", "as-SECRET-3"):
        assert secret not in shown
    assert venues.alpaca_secret.get_secret_value() == "as-SECRET-3"  # type: ignore[union-attr]


def test_the_trade_streams_settings_reach_the_stream(tmp_path):
    # Before: broker.stream_reconnect_max_s was accepted and never used (the stream kept
    # its 30 s), and how long a start waits for the stream could not be set.
    from tradewire.live.node import TradingNode
    from tradewire.venues.alpaca.config import AlpacaBrokerConfig

    venues = Venues.simulator("ws://127.0.0.1:1/stocks", "http://127.0.0.1:1", "ws://127.0.0.1:1")
    config = AlpacaBrokerConfig(stream_reconnect_max_s=2.5, stream_start_timeout_s=3)
    node = TradingNode(venues, [], broker_config=config, journal_path=tmp_path / "j.twj")
    assert node.stream._ws.options.reconnect_max_s == 2.5
    assert node.stream_start_timeout_s == 3
