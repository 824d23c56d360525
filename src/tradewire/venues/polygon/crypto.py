"""Massive (Polygon) crypto cluster messages (``wss://…/crypto``) as msgspec Structs.

Why a module of its own: the crypto cluster is another connection with other event tags
(``XQ``, ``XT``, ``XA``, ``XAS``, ``XL2``) and another symbol key (``pair``, ``BTC-USD``), so a
stocks frame decoder would drop every crypto event as unknown (issue 23). The style is that
of :mod:`tradewire.venues.polygon.messages`: single-letter wire keys renamed with
``field(name=...)``, tagged by ``ev`` so :data:`CRYPTO_FRAME_DECODER` decodes a whole frame in
one pass, optional fields defaulted because Massive omits empty ones, unknown keys ignored.

The field names match the stock events (``bid_price``, ``price``, ``size``, ``timestamp``,
``open``…) so a strategy handles both alike, and :attr:`symbol` is the engine's instrument
key (``BTC/USD``, :func:`tradewire.engine.instruments.instrument_key`), while ``pair`` keeps
the wire form for subscriptions.

Sources: the fields and examples of ``.massive/websocket.json`` (massive-com/client-python
481e5c27; tests/fixtures/polygon/crypto), and the official ``massive`` SDK 2.9.1
(``massive/websocket/models/models.py``: CryptoQuote, CryptoTrade, CurrencyAgg, Level2Book)
where the spec is silent. Unconfirmed, following the SDK or the spec example:

- ``XT.i`` (trade id): the spec example sends an int, the SDK types it ``str`` (stocks send a
  string); both are accepted.
- ``XT.c``: the spec documents 0 = none, 1 = sellside, 2 = buyside (the aggressor); other
  values may come and are kept as sent.
- ``XL2.b``/``XL2.a``: ``[price, size]`` pairs per the spec; the SDK types them loosely.
- The SDK types ``XQ`` prices as ``int``; the spec example sends floats, as decoded here.

Units: prices in the quote currency, sizes in units of the base asset (fractional),
timestamps in Unix milliseconds; ``received`` (``r``) is when Massive received the event.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
from msgspec import Struct, field

from tradewire.venues.polygon.messages import Status

__all__ = [
    "CRYPTO_EVENT_TYPES",
    "CRYPTO_FRAME_DECODER",
    "CRYPTO_ITEM_DECODERS",
    "CryptoAggregate",
    "CryptoBook",
    "CryptoEvent",
    "CryptoFeedMessage",
    "CryptoMinuteAggregate",
    "CryptoQuote",
    "CryptoTrade",
    "pair_symbol",
]


def pair_symbol(pair: str) -> str:
    """Massive's ``BTC-USD`` as the instrument key ``BTC/USD`` (no engine import needed: the
    socket form always splits on the one dash)."""
    return pair.replace("-", "/")


class CryptoQuote(Struct, tag_field="ev", tag="XQ", frozen=True, gc=False, omit_defaults=True):
    """Best bid and offer of one exchange (channel ``XQ.<pair>``)."""

    pair: str
    bid_price: float = field(name="bp", default=0.0)
    bid_size: float = field(name="bs", default=0.0)
    ask_price: float = field(name="ap", default=0.0)
    ask_size: float = field(name="as", default=0.0)
    timestamp: int = field(name="t", default=0)
    exchange: int = field(name="x", default=0)
    received: int = field(name="r", default=0)

    channel: ClassVar[str] = "XQ"

    @property
    def symbol(self) -> str:
        return pair_symbol(self.pair)

    @property
    def price(self) -> float:
        """Midpoint of bid and ask; the one-sided price when the other side is empty."""
        if self.bid_price > 0 and self.ask_price > 0:
            return (self.bid_price + self.ask_price) * 0.5
        return self.bid_price or self.ask_price

    @property
    def spread(self) -> float:
        return self.ask_price - self.bid_price


class CryptoTrade(Struct, tag_field="ev", tag="XT", frozen=True, gc=False, omit_defaults=True):
    """Trade print (channel ``XT.<pair>``)."""

    pair: str
    price: float = field(name="p", default=0.0)
    size: float = field(name="s", default=0.0)
    conditions: list[int] | None = field(name="c", default=None)
    id: int | str = field(name="i", default="")
    exchange: int = field(name="x", default=0)
    timestamp: int = field(name="t", default=0)
    received: int = field(name="r", default=0)

    channel: ClassVar[str] = "XT"

    @property
    def symbol(self) -> str:
        return pair_symbol(self.pair)

    @property
    def aggressor(self) -> str | None:
        """``"sell"`` / ``"buy"`` from condition 1 / 2 (sellside / buyside), else None."""
        for condition in self.conditions or ():
            if condition == 1:
                return "sell"
            if condition == 2:
                return "buy"
        return None


class _CryptoAggregateFields(Struct, frozen=True, gc=False, omit_defaults=True):
    # Shared by XA (minute) and XAS (second); the SDK decodes both as CurrencyAgg. No
    # accumulated volume, official open or day VWAP here, unlike the stock bars.
    pair: str
    open: float = field(name="o", default=0.0)
    close: float = field(name="c", default=0.0)
    high: float = field(name="h", default=0.0)
    low: float = field(name="l", default=0.0)
    volume: float = field(name="v", default=0.0)
    vwap: float = field(name="vw", default=0.0)
    average_size: float = field(name="z", default=0.0)
    start: int = field(name="s", default=0)
    end: int = field(name="e", default=0)

    @property
    def symbol(self) -> str:
        return pair_symbol(self.pair)


class CryptoAggregate(_CryptoAggregateFields, tag_field="ev", tag="XAS", frozen=True, gc=False):
    """Per-second bar (channel ``XAS.<pair>``), the crypto twin of the stocks ``A``."""

    channel: ClassVar[str] = "XAS"


class CryptoMinuteAggregate(
    _CryptoAggregateFields, tag_field="ev", tag="XA", frozen=True, gc=False
):
    """Per-minute bar (channel ``XA.<pair>``), the crypto twin of the stocks ``AM``. No bar is
    published for a minute without trades."""

    channel: ClassVar[str] = "XA"


class CryptoBook(Struct, tag_field="ev", tag="XL2", frozen=True, gc=False, omit_defaults=True):
    """Level-2 order book of one exchange (channel ``XL2.<pair>``): ``[price, size]`` levels,
    best first as in the spec example (bids descending, asks ascending)."""

    pair: str
    bids: list[tuple[float, float]] = field(name="b", default_factory=list)
    asks: list[tuple[float, float]] = field(name="a", default_factory=list)
    timestamp: int = field(name="t", default=0)
    exchange: int = field(name="x", default=0)
    received: int = field(name="r", default=0)

    channel: ClassVar[str] = "XL2"

    @property
    def symbol(self) -> str:
        return pair_symbol(self.pair)

    @property
    def best_bid(self) -> tuple[float, float] | None:
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> tuple[float, float] | None:
        return self.asks[0] if self.asks else None


CryptoEvent = CryptoQuote | CryptoTrade | CryptoAggregate | CryptoMinuteAggregate | CryptoBook
CryptoFeedMessage = (
    CryptoQuote | CryptoTrade | CryptoAggregate | CryptoMinuteAggregate | CryptoBook | Status
)

CRYPTO_EVENT_TYPES: dict[str, type[CryptoEvent]] = {
    "XQ": CryptoQuote,
    "XT": CryptoTrade,
    "XAS": CryptoAggregate,
    "XA": CryptoMinuteAggregate,
    "XL2": CryptoBook,
}

# Built once and reused (msgspec perf-tips), in the shapes of messages.FRAME_DECODER and
# messages.ITEM_DECODERS so the feed session's per-item fallback works unchanged on /crypto.
CRYPTO_FRAME_DECODER: msgspec.json.Decoder[list[CryptoFeedMessage]] = msgspec.json.Decoder(
    list[CryptoFeedMessage]
)
CRYPTO_ITEM_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    **{ev: msgspec.json.Decoder(cls) for ev, cls in CRYPTO_EVENT_TYPES.items()},
    "status": msgspec.json.Decoder(Status),
}
