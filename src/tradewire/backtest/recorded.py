"""A recorded market's frames as events, decoded as the live client decodes that market.

One reader for every Massive cluster a recording holds (``stocks``, ``crypto``, ``options``): the market's
frame decoder on the fast path, its per-event decoders when a frame does not decode whole (a
bad or unknown element costs only itself), the market's table being the live session's
(:data:`tradewire.venues.polygon.protocol.MARKETS`).
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Mapping
from pathlib import Path
from typing import Any

import msgspec

from tradewire.backtest.sanity import Skips
from tradewire.engine.options import OptionSymbolError, parse_occ
from tradewire.record.reader import iter_frames
from tradewire.venues.polygon.messages import RAW_FRAME_DECODER, RAW_ITEM_HEAD, Status
from tradewire.venues.polygon.protocol import MARKETS, Decoder


class OptionsOf(Container[str]):
    """The option contracts a backtest on ``symbols`` reads: those named, and every recorded
    contract of an underlying named (a strategy finds them in its chain and subscribes)."""

    __slots__ = ("_kept", "_symbols")

    def __init__(self, symbols: frozenset[str]) -> None:
        self._symbols = symbols
        self._kept: dict[str, bool] = {}  # per contract seen: as many as the recording holds

    def __contains__(self, symbol: object) -> bool:
        if not isinstance(symbol, str):
            return False
        kept = self._kept.get(symbol)
        if kept is None:
            kept = symbol in self._symbols
            if not kept:
                try:
                    kept = parse_occ(symbol).underlying in self._symbols
                except OptionSymbolError:
                    kept = False
            self._kept[symbol] = kept
        return kept


def read_recorded_market(
    path: Path, market: str, symbols: Container[str] | None, skips: Skips
) -> Iterator[tuple[int, list[Any]]]:
    """One batch ``(receive ns, events)`` per recorded frame of ``market`` with a selected event."""
    frame_decoder, item_decoders = MARKETS[market]
    for recv_ns, frame in iter_frames(path):
        try:
            items = frame_decoder.decode(frame)
        except msgspec.DecodeError:
            items = _decode_per_item(frame, item_decoders)
        events = [
            e
            for e in items
            if not isinstance(e, Status)
            and (symbols is None or e.symbol in symbols)
            and skips.keep(e)
        ]
        if events:
            yield recv_ns, events


def _decode_per_item(frame: bytes, decoders: Mapping[str, Decoder]) -> list[Any]:
    try:
        raws = RAW_FRAME_DECODER.decode(frame)
    except msgspec.DecodeError:
        return []
    out: list[Any] = []
    for raw in raws:
        try:
            ev = RAW_ITEM_HEAD.decode(raw).get("ev")
            decoder = decoders.get(ev) if isinstance(ev, str) else None
            if decoder is not None:
                out.append(decoder.decode(raw))
        except msgspec.DecodeError:
            continue
    return out
