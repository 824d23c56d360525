"""Cancel everything (and optionally flatten), and do not stop until the broker agrees.

The kill switch once made one cancel-all call with no retry: under 429 it failed after 7 s
with 26 orders still live, and via SIGUSR1 the failure was silent. Later it listed before
it cancelled, competed for the rate budget with the engine's own lookups, and gave up after
three attempts: at 30 requests a minute it answered after 41.8 s against a 15 s bound with
25 orders live. Now, inside one deadline and owning the budget (every other caller of the
client pauses): cancel-all first (``DELETE /v2/orders`` needs no list), then the broker's
list of what is still open, single cancels for any order the cancel-all did not reach,
retried with ``Retry-After`` until the deadline. The answer comes by the deadline; when the
broker could not be asked, it names the orders the engine believes open, as unverified.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tradewire.engine.events import KillEngaged
from tradewire.engine.journal.store import Journal
from tradewire.engine.ledger import Ledger
from tradewire.engine.risk import RiskEngine
from tradewire.errors import NotFound, RetryableBrokerError, TradewireError
from tradewire.live.reconciler import Reconciler
from tradewire.metrics.recorder import Counters
from tradewire.venues.alpaca.client import AlpacaClient
from tradewire.venues.alpaca.reports import broker_positions, is_leg

log = logging.getLogger(__name__)


@dataclass(slots=True)
class CancelOutcome:
    """What cancel-all (and flatten) achieved, as the broker confirmed it.

    ``verified`` is False when the broker's own list could not be read by the deadline:
    ``still_open`` then holds what the engine believes is open, not what the broker said.
    """

    canceled: int = 0
    closed_positions: int = 0
    attempts: int = 0
    still_open: list[str] = field(default_factory=list)  # client_order_ids
    positions_left: dict[str, float] = field(default_factory=dict)
    error: str = ""
    verified: bool = False

    @property
    def ok(self) -> bool:
        return self.verified and not self.still_open and not self.positions_left and not self.error

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "verified": self.verified,
            "canceled": self.canceled,
            "closed_positions": self.closed_positions,
            "attempts": self.attempts,
            "still_open": self.still_open,
            "positions_left": self.positions_left,
            **({"error": self.error} if self.error else {}),
        }

    def describe(self) -> str:
        parts = []
        if self.still_open:
            believed = "" if self.verified else " (unverified: the engine's belief)"
            parts.append(
                f"{len(self.still_open)} orders still open{believed}: {', '.join(self.still_open)}"
            )
        if self.positions_left:
            parts.append(f"positions left: {self.positions_left}")
        if self.error:
            parts.append(self.error)
        return "; ".join(parts) or "nothing open"


async def cancel_everything(
    broker: AlpacaClient,
    *,
    flatten: bool,
    timeout_s: float,
    believed_open: Callable[[], list[str]] = list,
) -> CancelOutcome:
    """Cancel every open order (then close every position) until verified, within ``timeout_s``.

    ``believed_open`` names the orders the engine holds open: the answer when the broker
    cannot be asked in time.
    """
    outcome = CancelOutcome()
    with broker.reserved_for_kill():
        try:
            async with asyncio.timeout(timeout_s):
                await _until_verified(broker, outcome, flatten=flatten)
        except TimeoutError:
            if not outcome.error:
                outcome.error = f"not verified within {timeout_s:g}s"
    if not outcome.verified:
        outcome.still_open = sorted(believed_open())
        outcome.error = f"unverified: the broker could not be asked ({outcome.error})"
    return outcome


async def kill_switch(
    reason: str,
    *,
    flatten: bool,
    risk: RiskEngine,
    broker: AlpacaClient,
    ledger: Ledger,
    journal: Journal,
    tasks: set[asyncio.Future[Any]],
    finish_timeout_s: float,
    cancel: Callable[[], Awaitable[CancelOutcome]],
) -> tuple[CancelOutcome, dict[str, Any]]:
    """Kill switch: halt, cancel every open order (``cancel``), optionally flatten.

    Cancel-all and flatten are retried with backoff (429 honoured) until the broker
    shows nothing open, within ``finish_timeout_s``. The result names anything still
    live, and ``ok`` is False then: every entry point reports it.
    """
    risk.engage_kill_switch(reason, time.monotonic_ns())
    # Before the kill record: no order leaves after it. Orders waiting for a rate-limit
    # token are dropped now (answered "not sent"), not written after the cancel-all.
    dropped = broker.halt_orders(f"kill switch: {reason}")
    ledger.record(KillEngaged(reason, flatten, dropped))
    journal.sync()
    log.error(
        "KILL SWITCH: %s (flatten=%s; %d orders not yet sent dropped)", reason, flatten, dropped
    )
    # Orders already written could land after the cancel-all and fill after the flatten:
    # let them settle first, for at most half of the time there is.
    in_flight = {t for t in tasks if not t.done()}
    if in_flight:
        wait = min(broker.config.request_timeout_s, finish_timeout_s / 2)
        await asyncio.wait(in_flight, timeout=wait)
    outcome = await cancel()
    result = {"state": risk.state.value, **outcome.as_dict()}
    journal.append("kill_result", "-", result)
    if not outcome.ok:
        log.error("KILL SWITCH incomplete: %s", outcome.describe())
    return outcome, result


async def cancel_and_verify(
    broker: AlpacaClient,
    reconciler: Reconciler,
    counters: Counters,
    *,
    flatten: bool,
    deadline: float,
    killing: bool,
    verify_timeout_s: float,
    believed_open: Callable[[], list[str]] = list,
) -> CancelOutcome:
    """Cancel (and flatten) by ``deadline`` (monotonic), then apply the broker's word
    through reconciliation: for ``verify_timeout_s``, or a kill's what is left of it."""
    outcome = await cancel_everything(
        broker,
        flatten=flatten,
        timeout_s=max(0.0, deadline - time.monotonic()),
        believed_open=believed_open,
    )
    # Each position closed is an order the broker accepted on our behalf.
    counters.orders_sent += outcome.closed_positions
    counters.orders_acked += outcome.closed_positions
    # What the broker says now is the truth: reconciliation applies all of it. A stop
    # takes verify_timeout_s for it; a kill's answer is not late for it: it verifies
    # within what is left of its deadline, and goes on in the background after.
    if not killing:
        await verify(reconciler, "after cancel-all", verify_timeout_s)
    else:
        left = deadline - time.monotonic()
        if left <= 0.05 or await verify(reconciler, "after the kill's cancel-all", left):
            reconciler.request("after the kill's cancel-all")
    return outcome


async def verify(reconciler: Reconciler, reason: str, timeout_s: float) -> int:
    """Reconcile until every open order is confirmed; returns how many are not."""
    unverified = await reconciler.run_until_verified(reason, timeout_s=timeout_s)
    if unverified:
        log.error(
            "%d open orders not verified at the broker within %.1fs (%s): the engine's "
            "orders and positions may differ from the broker's",
            unverified,
            timeout_s,
            reason,
        )
    return unverified


async def _until_verified(broker: AlpacaClient, outcome: CancelOutcome, *, flatten: bool) -> None:
    delay = 0.1
    canceled_all = False
    asked: set[str] = set()  # broker ids given a single cancel
    flattened = False
    while True:
        outcome.attempts += 1
        wait = delay
        try:
            if not canceled_all:
                results = await broker.cancel_all_orders()
                outcome.canceled += sum(1 for r in results if 200 <= r.status < 300)
                canceled_all = True
            # An mleg order's legs are listed beside it; they end with their parent.
            still_open = [b for b in await broker.list_all_open_orders() if not is_leg(b)]
            outcome.still_open = sorted(b.client_order_id for b in still_open)
            outcome.verified = True
            outcome.error = ""
            for order in still_open:
                # One the cancel-all did not reach (it arrived after, or the venue skipped it);
                # pending_cancel is on its way and needs no second request.
                if order.status != "pending_cancel" and order.id not in asked:
                    asked.add(order.id)
                    with contextlib.suppress(NotFound):
                        await broker.cancel_order(order.id)
                        outcome.canceled += 1
            if flatten and not still_open:
                held = await _held(broker)
                if held and not flattened:
                    closes = await broker.close_all_positions(cancel_orders=True)
                    outcome.closed_positions += sum(1 for r in closes if 200 <= r.status < 300)
                    flattened = True
                    held = await _held(broker)
                elif held:
                    flattened = False  # the closing orders ended without closing: close again
                outcome.positions_left = held
            if outcome.ok:
                return
            wait = 0.2 if still_open else delay  # cancels at the venue take a moment
        except RetryableBrokerError as exc:
            outcome.error = str(exc)
            wait = exc.retry_after or delay
        except TradewireError as exc:
            outcome.error = str(exc)
        log.warning("cancel-all not finished (%s); again in %.2fs", outcome.describe(), wait)
        await asyncio.sleep(wait)
        delay = min(delay * 2, 2.0)


async def _held(broker: AlpacaClient) -> dict[str, float]:
    held = broker_positions(await broker.get_positions())  # by key: BTCUSD is BTC/USD
    return {key: qty for key, (qty, _) in held.items() if qty}
