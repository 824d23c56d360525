from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from tradewire.venues.polygon.config import PolygonFeedConfig


def test_config_default_url_is_massive_realtime_stocks():
    assert PolygonFeedConfig().url == "wss://socket.massive.com/stocks"


def test_config_delayed_feed_uses_delayed_host():
    assert PolygonFeedConfig(feed="delayed").url == "wss://delayed.massive.com/stocks"


def test_config_with_sim_base_url_appends_market_once():
    assert PolygonFeedConfig(base_url_ws="ws://127.0.0.1:9/").url == "ws://127.0.0.1:9/stocks"
    assert PolygonFeedConfig(base_url_ws="ws://h:1/stocks").url == "ws://h:1/stocks"


def test_config_with_unknown_key_or_bad_url_raises():
    with pytest.raises(ValidationError):
        PolygonFeedConfig(colour="blue")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="ws://"):
        PolygonFeedConfig(base_url_ws="http://x")


def test_config_repr_hides_the_key():
    assert "sekrit" not in repr(PolygonFeedConfig(api_key=SecretStr("sekrit")))
