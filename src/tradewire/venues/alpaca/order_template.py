"""Request templates for the native order path (issue 26): the bytes of ``POST /v2/orders``
for one (symbol, side, type, time in force, extended hours), cut where the client order
id, the quantity and the limit price go.

The template is what the venue's own builder (:func:`~tradewire.venues.alpaca.order_builder.build_any`)
and encoder write for that order with marker values, so the native path cannot drift from
the Python one's format: ``tests/unit/engine/test_native_order_path.py`` compares the bytes
of both for every order shape it takes. Sans-I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tradewire.venues.alpaca.order_body import OrderRequest
from tradewire.venues.alpaca.requests import MAX_CLIENT_ORDER_ID, encode_body

__all__ = ["Template", "order_template"]

Template = tuple[bytes, bytes, bytes, bytes, bytes, bool, int]
"""(head through ``Content-Length: ``, ``\\r\\n\\r\\n`` + body up to the id, then up to the
qty, then up to the price or the end, then after the price, has a limit price, longest id)"""

_CID = "Tw0CidMarker0Zq9"
_QTY = 987654321
_PRICE = 876543.21
_LENGTH = b"Content-Length: "


def order_template(
    build: Callable[..., Any],
    request_bytes: Callable[[OrderRequest], bytes],
    symbol: str,
    side: str,
    order_type: str,
    time_in_force: str,
    extended_hours: bool,
) -> Template | None:
    """The template of a simple order of this shape, or ``None`` when the builder refuses
    the shape (the Python path then refuses the order, in its words) or writes it in a
    way a template cannot hold."""
    has_limit = order_type == "limit"
    try:
        request = build(
            symbol=symbol,
            side=side,
            order_type=order_type,
            time_in_force=time_in_force,
            qty=_QTY,
            limit_price=_PRICE if has_limit else None,
            stop_price=None,
            extended_hours=extended_hours,
            client_order_id=_CID,
            order_class=None,
            take_profit=None,
            stop_loss=None,
            held=None,
        )
    except ValueError:
        return None
    if type(request) is not OrderRequest:
        return None
    body = encode_body(request)
    raw = request_bytes(request)  # the client's whole HTTP request, as it would write it
    markers = [b'"' + _CID.encode() + b'"', b'"%d"' % _QTY]
    if has_limit:
        markers.append(b'"%.2f"' % _PRICE)
    cuts: list[int] = []
    for marker in markers:
        if body.count(marker) != 1:
            return None
        cuts.append(body.index(marker) + 1)  # inside the quotes
    if cuts != sorted(cuts) or not raw.endswith(b"\r\n\r\n" + body):
        return None
    head_end = raw.rindex(_LENGTH, 0, len(raw) - len(body)) + len(_LENGTH)
    head = raw[:head_end]
    lengths = [len(m) - 2 for m in markers]
    pieces = []
    start = 0
    for cut, n in zip(cuts, lengths, strict=True):
        pieces.append(body[start:cut])
        start = cut + n
    pieces.append(body[start:])
    a, b, c = b"\r\n\r\n" + pieces[0], pieces[1], pieces[2]
    d = pieces[3] if has_limit else b""
    return (head, a, b, c, d, has_limit, MAX_CLIENT_ORDER_ID)
