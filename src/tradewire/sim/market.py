"""Market state shared by the simulated feed and the simulated broker.

The feed publishes every quote and trade here before it writes the frame; the broker's
matching engine listens here, so orders fill against exactly the prices clients were shown.
All state lives on the instance (no module globals), so tests can run many simulators.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class NBBO:
    """Best bid and offer for one symbol. Sizes in shares (coins for a crypto pair);
    timestamp in Unix ms (SIP). A pair's symbol is Alpaca's order form, ``BTC/USD``."""

    symbol: str
    bid_price: float
    bid_size: float
    ask_price: float
    ask_size: float
    timestamp_ms: int


@dataclass(slots=True)
class LastTrade:
    symbol: str
    price: float
    size: float
    timestamp_ms: int


def pair_key(pair: str) -> str:
    """Massive's socket pair ``BTC-USD`` as the broker names it: ``BTC/USD``."""
    return pair.upper().replace("-", "/", 1)


QuoteListener = Callable[[NBBO], None]
TradeListener = Callable[[LastTrade], None]


class MarketState:
    """Latest NBBO and trade per symbol, with synchronous listeners.

    Listeners run inline when a quote is published, on the simulator's loop; they must not
    block. The broker uses them to re-evaluate resting orders on every quote.
    """

    def __init__(self) -> None:
        self.quotes: dict[str, NBBO] = {}
        self.trades: dict[str, LastTrade] = {}
        # The symbols the venue lists as assets before any of their quotes arrived (the
        # simulator's configured symbols); every quoted symbol is listed too.
        self.listed: set[str] = set()
        self._quote_listeners: list[QuoteListener] = []
        self._trade_listeners: list[TradeListener] = []

    def on_quote(self, listener: QuoteListener) -> None:
        self._quote_listeners.append(listener)

    def on_trade(self, listener: TradeListener) -> None:
        self._trade_listeners.append(listener)

    def publish_quote(self, nbbo: NBBO) -> None:
        self.quotes[nbbo.symbol] = nbbo
        for listener in self._quote_listeners:
            listener(nbbo)

    def publish_trade(self, trade: LastTrade) -> None:
        self.trades[trade.symbol] = trade
        for listener in self._trade_listeners:
            listener(trade)

    def lists(self, symbol: str) -> bool:
        """Whether ``symbol`` (upper case) is an asset here, as GET /v2/assets shows it."""
        return symbol in self.listed or symbol in self.quotes or symbol in self.trades

    def nbbo(self, symbol: str) -> NBBO | None:
        return self.quotes.get(symbol)


def publish_option(market: MarketState, ev: str, symbol: str, event: Mapping[str, Any]) -> None:
    """An options ``Q``/``T`` wire event into ``market`` under the contract's Alpaca symbol
    (``SPY260731P00395000``, no ``O:``), as the broker names it; sizes are contracts, as sent
    (no round lots on the options cluster)."""
    t = int(event.get("t", 0))
    if ev == "Q":
        bid, ask = float(event.get("bp", 0.0)), float(event.get("ap", 0.0))
        bid_size, ask_size = float(event.get("bs", 0)), float(event.get("as", 0))
        market.publish_quote(NBBO(symbol, bid, bid_size, ask, ask_size, t))
    else:
        market.publish_trade(LastTrade(symbol, float(event["p"]), float(event.get("s", 0)), t))
