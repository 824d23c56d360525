"""The ``/v2`` REST handlers of the simulated broker: account, activities, clock, assets,
orders and positions, answered in Alpaca's wire format (reference/alpaca.md).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tradewire.engine.options import is_option_symbol
from tradewire.sim.broker import lifecycle, wire
from tradewire.sim.broker.crypto import close_qty, is_crypto
from tradewire.sim.broker.lifecycle import VenueScript
from tradewire.sim.broker.matching import SimBook
from tradewire.sim.broker.options import find_contract
from tradewire.sim.broker.orders import (
    EASTERN,
    TERMINAL,
    Execution,
    OrderError,
    SimOrder,
)
from tradewire.sim.broker.query import (
    _activity_date,
    _activity_matches,
    _activity_time,
    _list_limit,
    _page_size,
    _parse_time,
)
from tradewire.sim.market import MarketState
from tradewire.sim.models import FaultModel

OPTION_ACTIVITIES = frozenset({"OPEXC", "OPASN", "OPEXP"})


def wire_terminal() -> frozenset[str]:
    return TERMINAL


def _uuid_arg(value: str) -> str:
    import uuid

    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise OrderError(422, 40010001, "order_id is missing") from None


def _bool(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.lower() == "true"


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        raise OrderError(400, 40010000, "request body format is invalid") from None
    if not isinstance(body, dict):
        raise OrderError(400, 40010000, "request body format is invalid")
    return body


class RestRoutes:
    """REST handlers of :class:`~tradewire.sim.broker.server.AlpacaBrokerServer`."""

    # What the handlers use of the server (AlpacaBrokerServer sets them).
    book: SimBook
    script: VenueScript
    faults: FaultModel
    market: MarketState

    if TYPE_CHECKING:  # provided by the server class; declared here for the type checker

        def _publish_soon(self, execs: list[Execution]) -> None:
            raise NotImplementedError

        def _activate(self, order: SimOrder) -> None:
            raise NotImplementedError

        def option_activities(self, wanted: set[str]) -> list[dict[str, Any]]:
            raise NotImplementedError

    async def _account(self, request: web.Request) -> web.Response:
        return web.json_response(wire.account_json(self.book))

    async def _activities(self, request: web.Request) -> web.Response:
        """Account activities; the simulator's only activity type is ``FILL``.

        ``/v2/account/activities/{type}`` or ``?activity_types=A,B``; ``date`` (that US/Eastern
        day), ``after``/``until`` (exclusive bounds on transaction_time), ``direction``
        (``desc`` by default), ``page_size`` (100 by default and at most), ``page_token``
        (an item's ``id``: the page continues strictly after it in that direction).
        """
        q = request.query
        types = request.match_info.get("activity_type") or q.get("activity_types") or "FILL"
        wanted = {t.strip().upper() for t in types.split(",")}
        if "FILL" not in wanted:
            if wanted & OPTION_ACTIVITIES:  # OPEXC, OPASN, OPEXP (sim/broker/expiry.py)
                return web.json_response(self.option_activities(wanted))
            return web.json_response(self._fees(q) if "CFEE" in wanted else [])
        direction = q.get("direction", "desc")
        if direction not in ("asc", "desc"):
            raise OrderError(422, 40010001, f"invalid direction: {direction[:40]!r}")
        page_size = _page_size(q.get("page_size"))
        day = _activity_date(q.get("date"))
        after = _activity_time(q.get("after"), "after")
        until = _activity_time(q.get("until"), "until")
        fills = self.book.fills
        start = None
        token = q.get("page_token")
        if token:
            start = self.book.fill_index.get(token)
            if start is None:
                raise OrderError(422, 40010001, f"invalid page_token: {token[:80]!r}")
        if direction == "asc":
            order: range = range(0 if start is None else start + 1, len(fills))
        else:
            order = range(len(fills) - 1 if start is None else start - 1, -1, -1)
        page: list[dict[str, Any]] = []
        for i in order:
            fill = fills[i]
            if _activity_matches(fill, day, after, until):
                page.append(wire.fill_activity_json(fill))
                if len(page) >= page_size:
                    break
        return web.json_response(page)

    def _fees(self, q: Mapping[str, str]) -> list[dict[str, Any]]:
        # CFEE on its own (/v2/account/activities/CFEE): ``date``, ``direction``, ``page_size``
        # as for fills; no page_token (a fee list longer than a page is not simulated).
        direction = q.get("direction", "desc")
        if direction not in ("asc", "desc"):
            raise OrderError(422, 40010001, f"invalid direction: {direction[:40]!r}")
        day = _activity_date(q.get("date"))
        fees = [f for f in self.book.fees if day is None or f.at.astimezone(EASTERN).date() == day]
        if direction == "desc":
            fees.reverse()
        return [wire.fee_activity_json(f) for f in fees[: _page_size(q.get("page_size"))]]

    async def _clock(self, request: web.Request) -> web.Response:
        return web.json_response(wire.clock_json())

    async def _calendar(self, request: web.Request) -> web.Response:
        return web.json_response(wire.calendar_json(datetime.now(UTC)))

    async def _assets(self, request: web.Request) -> web.Response:
        market = self.market
        book = self.book
        symbols = sorted(market.listed | set(market.quotes) | set(book.positions))
        # ``asset_class`` filters as on Alpaca (alpaca-py GetAssetsRequest); unset, all.
        klass = request.query.get("asset_class")
        return web.json_response(
            [
                wire.crypto_asset_json(book.crypto[s]) if s in book.crypto else wire.asset_json(s)
                for s in symbols
                if (s in book.crypto or not is_crypto(s))
                and not is_option_symbol(s)
                and (klass is None or klass == wire.asset_class(s))
            ]
        )

    async def _asset(self, request: web.Request) -> web.Response:
        symbol = self.book.book_symbol(request.match_info["symbol"])
        if symbol in self.book.crypto:
            return web.json_response(wire.crypto_asset_json(self.book.crypto[symbol]))
        if not self._lists(symbol):
            # 404 40410000 "asset not found for X": Alpaca's answer for an unknown asset.
            raise OrderError(404, 40410000, f"asset not found for {symbol[:40]}")
        return web.json_response(wire.asset_json(symbol))

    def _lists(self, symbol: str) -> bool:
        symbol = self.book.book_symbol(symbol)
        return self.market.lists(symbol) or symbol in self.book.positions

    async def _post_order(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        symbol = body.get("symbol")
        listed_contract = isinstance(symbol, str) and find_contract(self.book.options, symbol)
        if (
            isinstance(symbol, str)
            and symbol
            and not listed_contract
            and not self._lists(symbol.upper())
        ):
            # Alpaca refuses an order for an asset it does not list before it books it: an
            # order naming an unknown asset was answered 40010001, which comes with HTTP 422
            # (Alpaca-API #184; reference section 7). The exact wording for an unknown
            # *symbol* is UNCONFIRMED; clients branch on the status (alpaca-py: APIError).
            raise OrderError(422, 40010001, f'asset "{symbol[:40]}" not found')
        order = self.book.submit(body)
        response = web.json_response(wire.order_json(order, self.book))
        asyncio.get_running_loop().call_soon(self._activate, order)
        return response

    async def _list_orders(self, request: web.Request) -> web.Response:
        q = request.query
        status = q.get("status", "open")
        if status not in ("open", "closed", "all"):
            raise OrderError(422, 40010001, f"invalid status: {status[:40]!r}")
        direction = q.get("direction", "desc")
        if direction not in ("asc", "desc"):
            raise OrderError(422, 40010001, f"invalid direction: {direction[:40]!r}")
        limit = _list_limit(q.get("limit"))
        book_symbol = self.book.book_symbol  # BTCUSD finds the BTC/USD orders
        symbols = {book_symbol(s.strip()) for s in q.get("symbols", "").split(",") if s.strip()}
        after = _parse_time(q.get("after"))
        until = _parse_time(q.get("until"))
        # nested=true rolls bracket legs up into their parent; otherwise legs list on their own.
        orders = self.book.open_orders() if status == "open" else list(self.book.orders.values())
        if _bool(q.get("nested")):
            orders = [o for o in orders if o.parent_id is None]
        if status == "open":
            orders = [o for o in orders if o.status not in wire_terminal()]
        elif status == "closed":
            orders = [o for o in orders if o.status in wire_terminal()]
        if symbols:
            orders = [o for o in orders if o.symbol in symbols]
        if q.get("side"):
            orders = [o for o in orders if o.side == q["side"]]
        if after is not None:
            orders = [o for o in orders if o.submitted_at > after]
        if until is not None:
            orders = [o for o in orders if o.submitted_at < until]
        orders.sort(key=lambda o: o.submitted_at, reverse=direction == "desc")
        return web.json_response([wire.order_json(o, self.book) for o in orders[:limit]])

    async def _order_by_client_id(self, request: web.Request) -> web.Response:
        cid = request.query.get("client_order_id", "")
        order = self.book.orders_by_client_id.get(cid)
        if order is None:
            raise OrderError(404, 40410000, f"order not found for {cid}")
        return web.json_response(wire.order_json(order, self.book))

    async def _get_order(self, request: web.Request) -> web.Response:
        order_id = _uuid_arg(request.match_info["order_id"])
        return web.json_response(wire.order_json(self.book.get(order_id), self.book))

    async def _replace_order(self, request: web.Request) -> web.Response:
        order_id = _uuid_arg(request.match_info["order_id"])
        body = await _json_body(request)
        if self.script.take("replace_reject_next"):
            order, execs = lifecycle.refuse_replace(self.book, order_id, body)
        else:
            order, execs = self.book.replace(order_id, body)
        self._publish_soon(execs)
        return web.json_response(wire.order_json(order, self.book))

    async def _cancel_order(self, request: web.Request) -> web.Response:
        order_id = _uuid_arg(request.match_info["order_id"])
        if self.book.get(order_id).is_open and self.script.take("cancel_reject_next"):
            self._publish_soon(lifecycle.refuse_cancel(self.book, order_id))
        else:
            self._publish_soon(self.book.cancel(order_id))
        return web.Response(status=204)

    async def _cancel_all(self, request: web.Request) -> web.Response:
        results = []
        for order, execs in self.book.cancel_all():
            self._publish_soon(execs)
            results.append(
                {"id": order.id, "status": 200, "body": wire.order_json(order, self.book)}
            )
        return web.json_response(results, status=207)

    async def _positions(self, request: web.Request) -> web.Response:
        book = self.book
        return web.json_response([wire.position_json(book, p) for p in book.positions.values()])

    async def _position(self, request: web.Request) -> web.Response:
        pos = self.book.positions.get(self.book.book_symbol(request.match_info["symbol"]))
        if pos is None:
            raise OrderError(404, 40410000, "position does not exist")
        return web.json_response(wire.position_json(self.book, pos))

    async def _close_position(self, request: web.Request) -> web.Response:
        symbol = self.book.book_symbol(request.match_info["symbol"])
        order = self._close(symbol, request.query.get("qty"), request.query.get("percentage"))
        return web.json_response(wire.order_json(order, self.book))

    async def _close_all(self, request: web.Request) -> web.Response:
        if _bool(request.query.get("cancel_orders")):
            for _, execs in self.book.cancel_all():
                self._publish_soon(execs)
        results = []
        for symbol in list(self.book.positions):
            try:
                order = self._close(symbol, None, None)
                results.append(
                    {"symbol": symbol, "status": 200, "body": wire.order_json(order, self.book)}
                )
            except OrderError as exc:
                results.append(
                    {
                        "symbol": symbol,
                        "status": exc.status,
                        "body": wire.error_json(exc.code, exc.message),
                    }
                )
        return web.json_response(results, status=207)

    def _close(self, symbol: str, qty_arg: str | None, pct_arg: str | None) -> SimOrder:
        pos = self.book.positions.get(symbol)
        if pos is None:
            raise OrderError(404, 40410000, "position does not exist")
        if qty_arg and pct_arg:
            raise OrderError(422, 40010001, "qty and percentage are mutually exclusive")
        qty = abs(pos.qty)
        if qty_arg:
            qty = Decimal(qty_arg)
        elif pct_arg and symbol in self.book.crypto:
            qty = close_qty(self.book.crypto[symbol], pos.qty, Decimal(pct_arg))
        elif pct_arg:
            qty = (abs(pos.qty) * Decimal(pct_arg) / 100).quantize(Decimal("0.000000001"))
        if qty <= 0 or qty > abs(pos.qty):
            raise OrderError(
                403,
                40310000,
                f"insufficient qty available for order (requested: {qty}, available: {abs(pos.qty)})",
            )
        side = "sell" if pos.qty > 0 else "buy"
        order = self.book.submit(
            {
                "symbol": symbol,
                "qty": str(qty),
                "side": side,
                "type": "market",
                # Crypto takes gtc/ioc only; equities close with a day order.
                "time_in_force": "gtc" if symbol in self.book.crypto else "day",
            }
        )
        asyncio.get_running_loop().call_soon(self._activate, order)
        return order
