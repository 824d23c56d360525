"""The option endpoints of the simulated broker (issue 24): the contract master list,
exercise, the expiry control, and the clock that runs expiries on its own.

- ``GET /v2/options/contracts`` (filters and paging: sim/broker/options.py) answers
  ``{"option_contracts": [...], "next_page_token": ...}`` as alpaca-py's
  ``OptionContractsResponse`` reads it; ``GET /v2/options/contracts/{symbol_or_id}`` one
  contract (404 40410000 when not listed; the wording is UNCONFIRMED).
- ``POST /v2/positions/{symbol_or_contract_id}/exercise``: sim/broker/expiry.py. Answered 200
  with an empty body (UNCONFIRMED: alpaca-py reads nothing back).
- ``POST /_sim/options {"expire": "YYYY-MM-DD"}`` (loopback only, like every ``/_sim/``
  control): settle every option position expiring on or before that day now; answers the
  activities it posted. ``GET /_sim/options``: the listed expiries and those settled.
- On its own: every quote the broker sees checks the book's clock against the next listed
  expiry's 4 PM ET close and settles that expiry once it has passed (the simulator has no
  timer of its own; its quotes are its tick, and without quotes nothing moves anyway).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from aiohttp import web

from tradewire.sim.broker import expiry, options, wire
from tradewire.sim.broker.admin import AdminError, _admin_body
from tradewire.sim.broker.matching import SimBook
from tradewire.sim.broker.orders import Execution, OrderError
from tradewire.sim.market import NBBO
from tradewire.sim.option_chain import expiry_instant


class OptionRoutes:
    """Option handlers of :class:`~tradewire.sim.broker.server.AlpacaBrokerServer`."""

    book: SimBook
    settled_expiries: set[date]
    # (chain size seen, the next unsettled expiry, its 4 PM ET close)
    _expiry_watch: tuple[int, date | None, datetime | None]
    _publish_soon: Callable[[list[Execution]], None]

    async def _option_contracts(self, request: web.Request) -> web.Response:
        book = self.book
        now = book.clock()
        page, token = options.list_contracts(book.options, request.query, now)
        return web.json_response(
            {
                "option_contracts": [
                    options.contract_json(c, book.options, now, book.mark(c.underlying))
                    for c in page
                ]
                if book.options is not None
                else [],
                "next_page_token": token,
            }
        )

    async def _option_contract(self, request: web.Request) -> web.Response:
        book = self.book
        wanted = request.match_info["symbol_or_id"]
        contract = options.find_contract(book.options, wanted)
        if contract is None or book.options is None:
            raise OrderError(404, 40410000, f"option contract not found for {wanted[:40]}")
        now = book.clock()
        return web.json_response(
            options.contract_json(contract, book.options, now, book.mark(contract.underlying))
        )

    async def _exercise(self, request: web.Request) -> web.Response:
        expiry.exercise(self.book, request.match_info["symbol"])
        return web.Response(status=200)

    def option_activities(self, wanted: set[str]) -> list[dict[str, Any]]:
        """The OPEXC/OPASN/OPEXP activities of those ``wanted``, newest first."""
        found = [a for a in self.book.option_activities if a.activity_type in wanted]
        return [wire.option_activity_json(a) for a in reversed(found)]

    def expire_options(self, on: date) -> list[dict[str, Any]]:
        self._publish_soon(expiry.expire_orders(self.book, on))  # they can never fill now
        done = expiry.expire(self.book, on)
        if self.book.options is not None:
            self.settled_expiries.update(c.expiry for c in self.book.options if c.expiry <= on)
        return [wire.option_activity_json(a) for a in done]

    async def _admin_options(self, request: web.Request) -> dict[str, object]:
        activities: list[dict[str, Any]] = []
        if request.method == "POST":
            body = await _admin_body(request)
            unknown = sorted(set(body) - {"expire"})
            if unknown:
                raise AdminError(400, f"unknown options control: {unknown[0][:80]!r}")
            raw = body.get("expire")
            try:
                on = date.fromisoformat(raw) if isinstance(raw, str) else None
            except ValueError:
                on = None
            if on is None:
                raise AdminError(400, "expire: expected a date YYYY-MM-DD")
            activities = self.expire_options(on)
        elif request.method != "GET":
            raise AdminError(405, f"method {request.method} not allowed: use GET or POST")
        listed = sorted({c.expiry for c in self.book.options or ()})
        return {
            "expiries": [d.isoformat() for d in listed],
            "settled": sorted(d.isoformat() for d in self.settled_expiries),
            "activities": activities,
        }

    def _option_clock(self, nbbo: NBBO) -> None:
        """Settle a listed expiry once the book's clock has passed its 4 PM ET close. Cheap
        per quote: the next close is cached until the chains change or it is settled."""
        chains = self.book.options
        if chains is None:
            return
        if self._expiry_watch[0] != len(chains):
            pending = {c.expiry for c in chains} - self.settled_expiries
            day = min(pending, default=None)
            at = expiry_instant(day) if day is not None else None
            self._expiry_watch = (len(chains), day, at)
        _, next_day, close = self._expiry_watch
        if next_day is None or close is None or self.book.clock() < close:
            return
        self.expire_options(next_day)
        self._expiry_watch = (-1, None, None)  # look again at the next quote
