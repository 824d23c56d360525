"""Crypto fees and option settlements from Alpaca's activities, booked through the ledger
before positions compare.

Alpaca charges a crypto fee in the asset received and posts it as a ``CFEE`` (or ``FEE``)
activity, later than the fill: the engine's position equals the broker's only once the fee
is booked, as a :class:`~tradewire.engine.events.FeeCharged` event (journaled, replayed, each
activity once). The reconciler reads them every round, before it compares positions, so a fee
is never taken for a missed fill (a counted correction). Kept apart from the reconciler's
order and fill reading; the requests go through the reconciler's (background) budget.

Option exercises, assignments and expiries (``OPEXC``, ``OPASN``, ``OPEXP``) are read the
same way by a second reader (``types``, ``convert``) and booked as
:class:`~tradewire.engine.events.OptionSettled` (issue 24): the option position goes, the
delivered shares come, as the broker's positions show them after the settlement.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import takewhile
from typing import TYPE_CHECKING

from tradewire.engine.events import FeeCharged, OptionSettled
from tradewire.live.retrying import retrying
from tradewire.venues.alpaca.messages import FeeActivity, received
from tradewire.venues.alpaca.reports import fee_from_activity

if TYPE_CHECKING:
    from collections.abc import Callable

    from tradewire.engine.ledger import Ledger
    from tradewire.venues.alpaca.client import AlpacaClient

ACTIVITY_PAGE = 100  # Alpaca's largest ``page_size`` for GET /v2/account/activities
FEE_WAIT_ROUNDS = 5  # rounds a coin fee waits for its fill (still on the stream)


class FeeReader:
    """Reads the fee activities posted since its last read and books the new ones."""

    def __init__(
        self,
        broker: AlpacaClient,
        ledger: Ledger,
        *,
        max_pages: int = 50,
        types: str = "CFEE,FEE",
        convert: Callable[[FeeActivity], FeeCharged | OptionSettled | None] = fee_from_activity,
    ) -> None:
        self.broker = broker
        self.ledger = ledger
        self.max_pages = max_pages
        self.types = types
        self.convert = convert
        # Ids read and not booked (present at the first read, so already in the start-up
        # figures, or charging nothing); None until the first read.
        self._ignored: set[str] | None = None
        self._after: str | None = None
        self._waits: dict[str, int] = {}  # coin fees waiting for their fill: rounds waited
        self.booked = 0
        self.startup: list[FeeCharged | OptionSettled] = []  # booked by the first read

    def __repr__(self) -> str:
        return f"FeeReader({self.types}, booked={self.booked})"

    async def read(self, deadline: float) -> int:
        """Book the fee activities (CFEE/FEE) posted since the last read through the ledger
        as :class:`~tradewire.engine.events.FeeCharged`; returns the requests made.

        Newest first, page by page, until a page holds a fee already known (everything
        older is known), a short page, or a page that adds nothing (the simulator pages no
        fees). The first read books only the fees posted since the newest the journal booked
        (a restart's); the others were charged before this journal, and start-up takes the
        broker's positions and cash, net of them. Later, a fee in the coin larger than the
        position waits up to :data:`FEE_WAIT_ROUNDS` rounds for its fill (still on the
        stream) before it is booked anyway.
        """
        ledger = self.ledger
        first = self._ignored is None
        ignored = self._ignored if self._ignored is not None else set()
        if self._after is None:
            # Alpaca posts fees at the end of the day, dated: a day of margin.
            start = datetime.now(UTC) - timedelta(days=1)
            self._after = start.date().isoformat()
        read: dict[str, FeeActivity] = {}
        token: str | None = None
        pages = 0
        for _ in range(self.max_pages):
            pages += 1
            page = await retrying(
                partial(
                    self.broker.get_fee_activities,
                    types=self.types,
                    after=self._after,
                    page_token=token,
                    direction="desc",
                    page_size=ACTIVITY_PAGE,
                ),
                deadline=deadline,
                what=f"read {self.types} activities",
            )
            fresh = [a for a in page if a.id not in read]
            known = False
            for act in fresh:
                read[act.id] = act
                known = known or act.id in ledger.fee_ids or act.id in ignored
            if known or not fresh or received(page) < ACTIVITY_PAGE:
                break
            token = page[-1].id
        if first:
            # A restart on a journal that booked fees: the ones posted since the newest it
            # booked are charges on the journal's fills that the killed engine never read.
            # They are booked now (before start-up compares positions, so the journal's
            # view counts them, see ``startup_fees``); before, start-up took them as a
            # counted position correction and a dollar fee never reached P&L. The rest
            # predates the journal (start-up takes the broker's figures net of them).
            since = list(takewhile(lambda act: act.id not in ledger.fee_ids, read.values()))
            if len(since) == len(read):  # no fee of the journal's in the read: no anchor
                since = []
            ignored = self._ignored = set(read).difference(act.id for act in since)
            read = {act.id: act for act in since}
        for act in reversed(list(read.values())):  # oldest first
            if act.id in ledger.fee_ids or act.id in ignored:
                continue
            fee = self.convert(act)
            if fee is None:
                ignored.add(act.id)
            elif not first and isinstance(fee, FeeCharged) and self._waits_for_fill(fee):
                continue  # (at start-up the live book is empty until the broker's figures)
            elif ledger.record(fee):
                self._waits.pop(fee.activity_id, None)
                self.booked += 1
                if first:
                    self.startup.append(fee)
        return pages

    def _waits_for_fill(self, fee: FeeCharged) -> bool:
        # A coin fee is charged on a buy: more than the position holds means the buy is
        # not booked yet (the activity was read before the stream's fill).
        if not fee.qty or self.ledger.book.qty(fee.symbol) >= fee.qty:
            return False
        waited = self._waits.get(fee.activity_id, 0)
        if waited >= FEE_WAIT_ROUNDS:
            return False
        self._waits[fee.activity_id] = waited + 1
        return True
