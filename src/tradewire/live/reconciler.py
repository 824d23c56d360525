"""Continuous reconciliation: the broker's orders and positions, fetched and applied.

The decisions are :mod:`tradewire.engine.reconcile`'s; this module only does the I/O
(paginated REST) and feeds what it learned through the ledger, the one outcome path.
It runs at start-up before trading, after every trade_updates gap, and on a timer while
orders are open. Runs never overlap: a request during a run schedules one more run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from tradewire import fmt
from tradewire.engine import orders as o
from tradewire.engine.events import FeeCharged, OptionSettled, PositionCorrected
from tradewire.engine.ledger import Ledger
from tradewire.engine.reconcile import (
    PositionCheck,
    history_after_ns,
    missing_means_abandon,
    plan_orders,
    resolve_missing,
)
from tradewire.engine.translate import OrderFact, events_from_fact
from tradewire.errors import NotFound, TradewireError
from tradewire.live.fee_reader import FeeReader
from tradewire.live.retrying import retrying
from tradewire.venues.alpaca.client import AlpacaClient
from tradewire.venues.alpaca.messages import received
from tradewire.venues.alpaca.reports import (
    OPTION_SETTLEMENTS,
    broker_positions,
    fact_from,
    fill_from_activity,
    is_leg,
    settlement_from_activity,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


HISTORY_PAGE = 500  # Alpaca's largest ``limit`` for GET /v2/orders


def _stamp(ns: int) -> str:
    """An RFC 3339 timestamp (UTC, microseconds) for ``after=``."""
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat().replace("+00:00", "Z")


def _stamp_ns(value: str) -> int | None:
    # Alpaca sends up to nanoseconds; Python parses microseconds: truncate (never later).
    head, dot, frac = value.rstrip("Z").partition(".")
    digits = "".join(c for c in frac if c.isdigit())
    try:
        at = datetime.fromisoformat(f"{head}.{digits[:6].ljust(6, '0')}" if dot else head)
    except ValueError:
        return None
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return int(at.timestamp() * 1_000_000) * 1000


@dataclass(slots=True)
class RoundResult:
    corrections: dict[str, int]
    lookups: int
    open_at_broker: int
    requests: int = 0  # REST requests this round made (pages, lookups, positions)
    unverified: int = 0  # local open orders the round could not confirm at the broker


class Reconciler:
    """Compares the engine with the broker and corrects the engine through the ledger.

    Args:
        broker: The REST client.
        ledger: The one outcome path.
        settling: Client order ids whose submission is still being settled by the client
            (their outcome is not the reconciler's to decide yet).
        corrections: Counter dict to add corrections to, by kind.
        abandon_after_s: A sent or unknown order the broker has no record of after this
            long never landed.
        max_lookups: Per-order lookups per round (Alpaca allows 200 requests a minute);
            the bulk history answers the rest.
        history_margin_s: The history starts this long before the oldest order it must
            answer (the broker's clock and ours differ).
        max_history_pages: Pages of 500 per round; a history cut short proves no absence.
    """

    def __init__(
        self,
        broker: AlpacaClient,
        ledger: Ledger,
        *,
        settling: Callable[[], set[str]],
        corrections: dict[str, int],
        abandon_after_s: float = 30.0,
        max_lookups: int = 50,
        timeout_s: float = 10.0,
        max_activity_pages: int = 50,
        history_margin_s: float = 5.0,
        max_history_pages: int = 20,
    ) -> None:
        self.broker = broker
        self.ledger = ledger
        self.settling = settling
        self.corrections = corrections
        self.abandon_after_ns = int(abandon_after_s * 1e9)
        self.max_lookups = max_lookups
        self.max_activity_pages = max_activity_pages
        self.timeout_s = timeout_s
        self.history_margin_ns = int(history_margin_s * 1e9)
        self.max_history_pages = max_history_pages
        self.unverified = 0  # after the last round: open here, not confirmed there
        self.positions = PositionCheck()
        self.rounds = 0
        self.failures = 0
        self._running: asyncio.Task[Any] | None = None
        self._again = False
        self._fills_since: float | None = None
        self.fills_replayed = 0
        self.fees = FeeReader(broker, ledger, max_pages=max_activity_pages)
        self.settlements = FeeReader(
            broker,
            ledger,
            max_pages=max_activity_pages,
            types=OPTION_SETTLEMENTS,
            convert=settlement_from_activity,
        )

    def __repr__(self) -> str:
        return f"Reconciler(rounds={self.rounds}, failures={self.failures})"

    @property
    def fees_booked(self) -> int:
        return self.fees.booked

    @property
    def startup_fees(self) -> list[FeeCharged | OptionSettled]:
        """Fees and option settlements the first read booked (a restart's: its journal's
        fills' fees, and settlements of the positions it held)."""
        return self.fees.startup + self.settlements.startup

    def request(self, reason: str, *, fills_since: float | None = None) -> None:
        """Run a round soon (after a gap, on the timer); coalesces with a running one.

        ``fills_since`` (epoch seconds): replay the account's executions from then first,
        from ``GET /v2/account/activities/FILL``, which filters on execution time (orders'
        ``after=`` filters on submission time and misses older orders that filled).
        """
        if fills_since is not None:
            pending = self._fills_since
            self._fills_since = fills_since if pending is None else min(pending, fills_since)
        if self._running is not None and not self._running.done():
            self._again = True
            return
        self._running = asyncio.get_running_loop().create_task(self._loop(reason))

    async def wait_idle(self) -> None:
        # asyncio.wait, not gather: a caller that gives up waiting (a timeout) must not
        # cancel the round it waited on.
        while self._running is not None and not self._running.done():
            await asyncio.wait({self._running})

    async def _loop(self, reason: str) -> None:
        while True:
            self._again = False
            try:
                await self.run_once(reason)
            except TradewireError as exc:
                self.failures += 1
                log.warning("reconciliation (%s) failed: %s; next round retries", reason, exc)
            if not self._again:
                return
            reason = "requested during a round"

    def _count(self, kind: str, n: int = 1) -> None:
        self.corrections[kind] = self.corrections.get(kind, 0) + n

    async def run_once(self, reason: str, *, deadline: float | None = None) -> RoundResult:
        """One full comparison; every difference goes through the ledger and is counted.

        Requests: the open orders, the history of those not open there (a page per 500),
        per-order lookups only for what the history cannot answer, then positions. They
        yield the rate budget to orders, cancels and the kill switch (``background``): a
        reconciliation under 429 never delays an order or a cancel.
        """
        with self.broker.background():
            return await self._round(reason, deadline)

    async def _round(self, reason: str, deadline: float | None) -> RoundResult:
        deadline = deadline or time.monotonic() + self.timeout_s
        before = dict(self.corrections)
        ledger = self.ledger
        oms = ledger.oms
        requests = 0
        since, self._fills_since = self._fills_since, None
        if since is not None:
            try:
                requests += await self._replay_fills(since, deadline)
            except TradewireError:
                self._fills_since = since  # the next round tries again
                raise
        open_orders = await retrying(
            self.broker.list_all_open_orders, deadline=deadline, what="list open orders"
        )
        requests += 1 + len(open_orders) // 500
        # A multi-leg order's legs list on their own too (no ``nested``): each is booked
        # through its parent, whose fact carries them; adopted as an external order of its
        # own, a leg's fill was booked twice.
        facts = [fact_from(b) for b in open_orders if not is_leg(b)]
        plan = plan_orders(oms, facts, settling=self.settling())
        for fact in plan.adopt:
            self._adopt(fact)
        for fact in plan.external:
            if not ledger.adopt_external(fact, ref_price=fact.filled_avg_price):
                continue  # e.g. a notional order: no quantity risk can count
            ledger.apply_all(fact.client_order_id, events_from_fact(fact))
            self._count("external")
        history: dict[str, OrderFact] = {}
        complete = True
        after_ns = history_after_ns(oms, plan.lookup, margin_ns=self.history_margin_ns)
        if after_ns is not None:
            history, complete, pages = await self._history(after_ns, deadline)
            requests += pages
        res = resolve_missing(
            oms,
            plan.lookup,
            history,
            complete=complete,
            now_ns=time.time_ns(),
            horizon_ns=self.abandon_after_ns,
            max_lookups=self.max_lookups,
        )
        for fact in res.adopt:
            self._adopt(fact)
        for cid in res.abandon:
            if ledger.apply(cid, o.Abandoned()) is not None:
                self._count("abandoned")
        answered = {f.client_order_id for f in res.adopt}
        for cid in res.lookup:
            requests += 1
            try:
                b = await retrying(
                    partial(self.broker.get_order_by_client_id, cid),
                    deadline=deadline,
                    what=f"look up {cid}",
                )
            except NotFound:
                local = oms.orders.get(cid)
                if (
                    local is not None
                    and missing_means_abandon(
                        local, now_ns=time.time_ns(), horizon_ns=self.abandon_after_ns
                    )
                    and ledger.apply(cid, o.Abandoned()) is not None
                ):
                    self._count("abandoned")
                continue
            answered.add(cid)
            self._adopt(fact_from(b))
        # Open here, not open there, and no answer yet (waiting, deferred, a failed lookup).
        unverified = sum(
            1
            for cid in plan.lookup
            if cid not in answered and (x := oms.orders.get(cid)) is not None and x.is_open
        )
        # Fees before positions: the broker's position is net of the fees it charged.
        requests += await self.fees.read(deadline)
        requests += await self.settlements.read(deadline)
        fills = ledger.fills
        positions = await retrying(
            self.broker.get_positions, deadline=deadline, what="list positions"
        )
        requests += 1
        by_key = broker_positions(positions)  # one key per asset (BTCUSD is BTC/USD)
        if ledger.fills == fills:  # no fill arrived while we asked: the two views are comparable
            for symbol, (qty, avg) in self.positions.compare(
                ledger.book, by_key, fills=fills
            ).items():
                was = ledger.book.qty(symbol)
                ledger.record(PositionCorrected(symbol, qty, avg, "reconcile"))
                log.warning(
                    "reconcile: position %s corrected %s -> %s", symbol, fmt.qty(was), fmt.qty(qty)
                )
                self._count("position")
        self.rounds += 1
        self.unverified = unverified
        delta = {
            k: v - before.get(k, 0) for k, v in self.corrections.items() if v != before.get(k, 0)
        }
        if delta:
            log.warning("reconciliation (%s) corrected %s", reason, delta)
        return RoundResult(delta, len(res.lookup), len(open_orders), requests, unverified)

    async def run_until_verified(self, reason: str, *, timeout_s: float) -> int:
        """Rounds until every local open order is confirmed at the broker, or ``timeout_s``.

        A stop reports what the engine holds: it must not report before the broker's outcomes
        are in. Returns how many orders stay unverified (0: the engine agrees with the broker).
        """
        deadline = time.monotonic() + timeout_s
        try:
            # Bounded: under a rate limit with the timer asking again every round, the
            # background loop may never be idle (a kill's verify once waited on it forever).
            async with asyncio.timeout(timeout_s):
                await self.wait_idle()
        except TimeoutError:
            return self._believed_unverified()
        while True:
            try:
                result = await self.run_once(reason, deadline=deadline)
                if result.unverified == 0:
                    return 0
            except TradewireError as exc:
                self.failures += 1
                self._believed_unverified()
                log.warning("reconciliation (%s) failed: %s", reason, exc)
            if time.monotonic() + 0.1 >= deadline:
                return self.unverified
            await asyncio.sleep(0.1)  # young orders age toward the horizon between rounds

    def _believed_unverified(self) -> int:
        """No round could finish: every order open here is unverified."""
        self.unverified = sum(
            1
            for x in self.ledger.oms.orders.values()
            if x.is_open and x.status is not o.OrderStatus.INTENT
        )
        return self.unverified

    async def _history(
        self, after_ns: int, deadline: float
    ) -> tuple[dict[str, OrderFact], bool, int]:
        """Every order submitted after ``after_ns``, oldest first: (by cid, complete, pages).

        Pages forward by ``after`` = the last one's ``submitted_at`` stepped back a
        microsecond (``after`` is exclusive and several orders may share a stamp), de-duplicated
        by id; a page that adds nothing new or the page cap ends it, cut short.
        """
        seen: set[str] = set()
        out: dict[str, OrderFact] = {}
        after = after_ns
        for page_no in range(1, self.max_history_pages + 1):
            page = await retrying(
                partial(
                    self.broker.list_orders,
                    status="all",
                    after=_stamp(after),
                    direction="asc",
                    limit=HISTORY_PAGE,
                ),
                deadline=deadline,
                what="list order history",
            )
            fresh = [b for b in page if b.id not in seen]
            for b in fresh:
                seen.add(b.id)
                out[b.client_order_id] = fact_from(b)
            if received(page) < HISTORY_PAGE:  # a refused element keeps the page full
                return out, True, page_no
            last = _stamp_ns(page[-1].submitted_at or "")
            if not fresh or last is None:
                return out, False, page_no
            after = last - 1000
        return out, False, self.max_history_pages

    async def _replay_fills(self, since: float, deadline: float) -> int:
        # Executions by time, oldest first, page by page; each is one fill with the
        # broker's cumulative quantity, so one already booked counts once.
        after = datetime.fromtimestamp(since - 2.0, UTC).isoformat().replace("+00:00", "Z")
        token: str | None = None
        pages = 0
        for _ in range(self.max_activity_pages):
            pages += 1
            page = await retrying(
                partial(self.broker.get_fill_activities, after=after, page_token=token),
                deadline=deadline,
                what="replay fills",
            )
            for act in page:
                order = self.ledger.oms.by_broker_id.get(act.order_id)
                if order is None:
                    continue  # not ours, or evicted: the open-orders pass and positions decide
                filled = order.filled_qty
                self.ledger.apply(order.client_order_id, fill_from_activity(act))
                if order.filled_qty != filled:
                    self.fills_replayed += 1
                    self._count("order")
            # What was sent decides: a refused element keeps the page full.
            if received(page) < 100 or not page:
                return pages
            token = page[-1].id
        return pages

    def _adopt(self, fact: OrderFact) -> None:
        order = self.ledger.oms.orders.get(fact.client_order_id)
        if order is None:
            return
        status, filled = order.status, order.filled_qty
        self.ledger.apply_all(fact.client_order_id, events_from_fact(fact))
        if order.filled_qty != filled or (order.is_open is False and status not in o.TERMINAL):
            self._count("order")
