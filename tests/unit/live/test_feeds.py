"""A node's symbols are subscribed on the Massive market each trades on: stocks on /stocks
(Q, T, AM), crypto pairs on /crypto (XQ, XT, XA) by their feed form BTC-USD (issue 23)."""

from __future__ import annotations

from tradewire.live.feeds import channels_by_market


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
