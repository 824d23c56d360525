"""Massive (Polygon) options cluster messages (``wss://…/options``), decoded as the stock events.

Why no Structs of their own: the options events ``T``, ``Q``, ``A`` and ``AM`` carry exactly
the stock events' keys (reference/crypto-options.md 3d: T ``ev, sym, x, p, s, c, t, q``;
Q ``ev, sym, bx, ax, bp, ap, bs, as, t, q``; A/AM ``ev, sym, v, av, op, vw, o, c, h, l, a,
z, s, e``), so they decode as :class:`~tradewire.venues.polygon.messages.Quote`,
:class:`~tradewire.venues.polygon.messages.Trade`,
:class:`~tradewire.venues.polygon.messages.Aggregate` and
:class:`~tradewire.venues.polygon.messages.MinuteAggregate`, which the engine already routes
(``engine/routing.py`` tests the exact type). The one difference is the ticker: Massive writes
``O:SPY241220P00720000``, and :attr:`symbol` is the engine's key, Alpaca's form without the
``O:`` (:func:`tradewire.engine.options.option_key`), set right after decoding, before any
other code sees the event (issue 24).

Units: prices in dollars per share of the underlying (premium; a contract is ``price x
multiplier``), **sizes in contracts** (``bs``/``as`` of a quote, ``s`` of a trade, ``v``/``av``
of a bar), timestamps in Unix milliseconds. ``bx``/``ax``/``x`` are OPRA exchange ids
(the spec example quotes 302 on both sides; a trade prints on 65).

Sources: ``.massive/websocket.json`` (massive-com/client-python 481e5c27;
tests/fixtures/polygon/options). The spec's ``A`` example is tagged ``AM``; it decodes as the
minute bar it says it is.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec.structs import force_setattr

from tradewire.venues.polygon.messages import Aggregate, MinuteAggregate, Quote, Status, Trade

__all__ = [
    "OPTIONS_EVENT_TYPES",
    "OPTIONS_FRAME_DECODER",
    "OPTIONS_ITEM_DECODERS",
    "OptionsEvent",
    "OptionsFeedMessage",
]

OptionsEvent = Quote | Trade | Aggregate | MinuteAggregate
OptionsFeedMessage = Quote | Trade | Aggregate | MinuteAggregate | Status

OPTIONS_EVENT_TYPES: dict[str, type[OptionsEvent]] = {
    "Q": Quote,
    "T": Trade,
    "A": Aggregate,
    "AM": MinuteAggregate,
}

_PREFIX = "O:"


def _strip(event: Any) -> Any:
    # Frozen Structs: the symbol is rewritten once, right after decoding, before anyone holds
    # the event (msgspec's force_setattr, meant for exactly such a post-decode fix-up).
    if type(event) is not Status:
        sym = event.symbol
        if sym.startswith(_PREFIX):
            force_setattr(event, "symbol", sym[2:])
    return event


class _FrameDecoder:
    """A whole frame of the options cluster, as ``msgspec.json.Decoder.decode`` would give it,
    each event's symbol in Alpaca's form."""

    __slots__ = ("_inner",)

    def __init__(self) -> None:
        self._inner = msgspec.json.Decoder(list[OptionsFeedMessage])

    def decode(self, buf: bytes | bytearray | memoryview | str, /) -> list[OptionsFeedMessage]:
        items = self._inner.decode(buf)
        for item in items:
            _strip(item)
        return items


class _ItemDecoder:
    """One event of the options cluster (the session's per-item fallback)."""

    __slots__ = ("_inner",)

    def __init__(self, cls: type[Any]) -> None:
        self._inner: msgspec.json.Decoder[Any] = msgspec.json.Decoder(cls)

    def decode(self, buf: bytes | bytearray | memoryview | str, /) -> Any:
        return _strip(self._inner.decode(buf))


# Built once and reused, in the shapes of messages.FRAME_DECODER and messages.ITEM_DECODERS so
# the feed session and the recorded-market reader work unchanged on /options.
OPTIONS_FRAME_DECODER = _FrameDecoder()
OPTIONS_ITEM_DECODERS: dict[str, _ItemDecoder] = {
    **{ev: _ItemDecoder(cls) for ev, cls in OPTIONS_EVENT_TYPES.items()},
    "status": _ItemDecoder(Status),
}
