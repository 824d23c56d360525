"""A node's symbols are subscribed on the Massive market each trades on: stocks on /stocks
(Q, T, AM), crypto pairs on /crypto (XQ, XT, XA) by their feed form BTC-USD (issue 23), option
contracts on /options (Q, T, AM) by their Massive ticker O:SPY... (issue 24)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from tradewire.engine.options import occ_symbol
from tradewire.errors import ConfigError
from tradewire.live.feeds import OPTION_QUOTE_LIMIT, channels_by_market, check_option_quotes
from tradewire.live.node import TradingNode, Venues


def test_stocks_and_crypto_go_to_their_own_market() -> None:
    assert channels_by_market(["AAPL", "BTC/USD", "ETH/USD"]) == {
        "stocks": ["Q.AAPL", "T.AAPL", "AM.AAPL"],
        "crypto": [
            "XQ.BTC-USD",
            "XT.BTC-USD",
            "XA.BTC-USD",
            "XQ.ETH-USD",
            "XT.ETH-USD",
            "XA.ETH-USD",
        ],
    }


def test_a_stock_only_node_opens_no_crypto_connection() -> None:
    assert channels_by_market(["MSFT", "AAPL"]) == {
        "stocks": ["Q.AAPL", "T.AAPL", "AM.AAPL", "Q.MSFT", "T.MSFT", "AM.MSFT"]
    }
    assert channels_by_market([]) == {}


# -- options (issue 24) ---------------------------------------------------------------------


def _contracts(n: int) -> list[str]:
    first = date(2026, 7, 31)
    return [
        occ_symbol("SPY", first + timedelta(weeks=i // 500), "put", 100 + i % 500) for i in range(n)
    ]


def test_option_contracts_stream_on_the_options_market_by_their_massive_ticker() -> None:
    assert channels_by_market(["SPY", "SPY260731P00395000"]) == {
        "options": [
            "Q.O:SPY260731P00395000",
            "T.O:SPY260731P00395000",
            "AM.O:SPY260731P00395000",
        ],
        "stocks": ["Q.SPY", "T.SPY", "AM.SPY"],
    }


def test_a_thousand_option_quotes_pass_and_one_more_is_refused_whole() -> None:
    limit = channels_by_market(_contracts(OPTION_QUOTE_LIMIT))["options"]
    check_option_quotes(limit)
    over = channels_by_market(_contracts(OPTION_QUOTE_LIMIT + 1))["options"]
    with pytest.raises(ConfigError, match=r"options quotes of 1,001 contracts.*at most 1,000"):
        check_option_quotes(over)
    # Counting what the connection already streams: 1,000 there, one new is one too many.
    with pytest.raises(ConfigError, match="1,001 contracts"):
        check_option_quotes(over[-3:], subscribed=limit)
    check_option_quotes(limit[:3], subscribed=limit)  # the same contracts again: no more


def test_the_node_refuses_too_many_option_quotes_where_it_computes_subscriptions(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    venues = Venues.simulator("ws://127.0.0.1:1/stocks", "http://127.0.0.1:1", "ws://127.0.0.1:1")
    node = TradingNode(venues, [], journal_path=tmp_path / "j.twj")
    with pytest.raises(ConfigError, match="1,001 contracts"):
        node._subscriptions(_contracts(OPTION_QUOTE_LIMIT + 1))
    assert node._subscriptions(["SPY260731P00395000"])["options"][0] == "Q.O:SPY260731P00395000"
    # A gateway's worker asking for too many: logged as one error, no options connection.
    node.spawn_subscribe(_contracts(OPTION_QUOTE_LIMIT + 1))
    assert "options" not in node.feeds
    assert any("1,001 contracts" in r.getMessage() for r in caplog.records)


async def test_a_node_on_a_used_recorder_counts_its_feed_rate_from_its_start(
    tmp_path: Path,
) -> None:
    # A failover group's second term runs on the process's one recorder: its first tick read
    # the first term's 552 events over 0 s as the rate (issue 25).
    from tradewire.metrics.recorder import Recorder

    recorder = Recorder()
    recorder.counters.events = 552
    venues = Venues.simulator("ws://127.0.0.1:1/stocks", "http://127.0.0.1:1", "ws://127.0.0.1:1")
    node = TradingNode(venues, [], journal_path=tmp_path / "j.twj", recorder=recorder)
    node._rate_from_now()
    node._tick()
    assert recorder.market_data_rate == 0.0
