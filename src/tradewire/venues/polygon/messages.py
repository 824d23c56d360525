"""Polygon/Massive stocks WebSocket messages as msgspec Structs.

Wire keys are single letters; the Structs give them readable names with ``field(name=...)``
and are tagged by ``ev`` so one ``Decoder(list[Union])`` decodes a whole frame in one pass
(msgspec ``perf-tips``). Optional fields default because Polygon omits empty ones. Unknown
keys are ignored, so a new field upstream never breaks decoding. Units: prices in dollars,
timestamps in Unix milliseconds (reference/polygon.md section 3).
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
from msgspec import Struct, field


class Quote(Struct, tag_field="ev", tag="Q", frozen=True, gc=False, omit_defaults=True):
    """NBBO quote (channel ``Q.<ticker>``). Sizes are as sent (documented as round lots)."""

    symbol: str = field(name="sym")
    bid_price: float = field(name="bp", default=0.0)
    ask_price: float = field(name="ap", default=0.0)
    bid_size: float = field(name="bs", default=0)
    ask_size: float = field(name="as", default=0)
    bid_exchange: int = field(name="bx", default=0)
    ask_exchange: int = field(name="ax", default=0)
    condition: int | None = field(name="c", default=None)
    indicators: list[int] | None = field(name="i", default=None)
    timestamp: int = field(name="t", default=0)
    sequence: int = field(name="q", default=0)
    tape: int | None = field(name="z", default=None)

    channel: ClassVar[str] = "Q"

    @property
    def price(self) -> float:
        """Midpoint of bid and ask; the one-sided price when the other side is empty."""
        if self.bid_price > 0 and self.ask_price > 0:
            return (self.bid_price + self.ask_price) * 0.5
        return self.bid_price or self.ask_price

    @property
    def spread(self) -> float:
        return self.ask_price - self.bid_price


class Trade(Struct, tag_field="ev", tag="T", frozen=True, gc=False, omit_defaults=True):
    """Trade print (channel ``T.<ticker>``). ``id`` is a string on the wire."""

    symbol: str = field(name="sym")
    price: float = field(name="p", default=0.0)
    size: float = field(name="s", default=0)
    exchange: int = field(name="x", default=0)
    id: str = field(name="i", default="")
    conditions: list[int] | None = field(name="c", default=None)
    timestamp: int = field(name="t", default=0)
    sequence: int = field(name="q", default=0)
    tape: int | None = field(name="z", default=None)
    trf_id: int | None = field(name="trfi", default=None)
    trf_timestamp: int | None = field(name="trft", default=None)
    decimal_size: str | None = field(name="ds", default=None)

    channel: ClassVar[str] = "T"


class _AggregateFields(Struct, frozen=True, gc=False, omit_defaults=True):
    # Shared by second ("A") and minute ("AM") bars; "z" is average trade size here, not tape.
    symbol: str = field(name="sym")
    volume: float = field(name="v", default=0)
    accumulated_volume: float = field(name="av", default=0)
    official_open: float = field(name="op", default=0.0)
    vwap: float = field(name="vw", default=0.0)
    open: float = field(name="o", default=0.0)
    close: float = field(name="c", default=0.0)
    high: float = field(name="h", default=0.0)
    low: float = field(name="l", default=0.0)
    day_vwap: float = field(name="a", default=0.0)
    average_size: float = field(name="z", default=0)
    start: int = field(name="s", default=0)
    end: int = field(name="e", default=0)
    otc: bool = False


class Aggregate(_AggregateFields, tag_field="ev", tag="A", frozen=True, gc=False):
    """Per-second bar (channel ``A.<ticker>``)."""

    channel: ClassVar[str] = "A"


class MinuteAggregate(_AggregateFields, tag_field="ev", tag="AM", frozen=True, gc=False):
    """Per-minute bar (channel ``AM.<ticker>``); may arrive late by design."""

    channel: ClassVar[str] = "AM"


class LimitUpLimitDown(
    Struct, tag_field="ev", tag="LULD", frozen=True, gc=False, omit_defaults=True
):
    """LULD price band (channel ``LULD.<ticker>``). The symbol key is ``T`` here, not ``sym``."""

    symbol: str = field(name="T")
    limit_up: float = field(name="h", default=0.0)
    limit_down: float = field(name="l", default=0.0)
    indicators: list[int] | None = field(name="i", default=None)
    tape: int | None = field(name="z", default=None)
    timestamp: int = field(name="t", default=0)
    sequence: int = field(name="q", default=0)

    channel: ClassVar[str] = "LULD"


class Status(Struct, tag_field="ev", tag="status", frozen=True, gc=False):
    """Control-plane message: connected, auth_success, auth_failed, success, error, …"""

    status: str
    message: str = ""


MarketEvent = Quote | Trade | Aggregate | MinuteAggregate | LimitUpLimitDown
FeedMessage = Quote | Trade | Aggregate | MinuteAggregate | LimitUpLimitDown | Status

EVENT_TYPES: dict[str, type[MarketEvent]] = {
    "Q": Quote,
    "T": Trade,
    "A": Aggregate,
    "AM": MinuteAggregate,
    "LULD": LimitUpLimitDown,
}

# Decoders are built once and reused (msgspec perf-tips): one for a whole frame, one per
# type for the per-item fallback, one that accepts anything for diagnosing bad items.
FRAME_DECODER: msgspec.json.Decoder[list[FeedMessage]] = msgspec.json.Decoder(list[FeedMessage])
ITEM_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    **{ev: msgspec.json.Decoder(cls) for ev, cls in EVENT_TYPES.items()},
    "status": msgspec.json.Decoder(Status),
}
RAW_FRAME_DECODER: msgspec.json.Decoder[list[msgspec.Raw]] = msgspec.json.Decoder(list[msgspec.Raw])
RAW_ITEM_HEAD: msgspec.json.Decoder[dict[str, Any]] = msgspec.json.Decoder(dict[str, Any])
