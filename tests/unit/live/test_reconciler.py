"""The reconciler corrects a position through the ledger (issue 21, CORE.md finding 2).

It used to call ``ledger.book.set_position`` and write a ``position`` note beside the ledger.
A stub broker: no sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradewire.engine import orders as o
from tradewire.engine.journal.replay import replay
from tradewire.engine.journal.store import Journal, read_journal
from tradewire.engine.ledger import Ledger
from tradewire.engine.positions import PositionBook
from tradewire.live.reconciler import Reconciler
from tradewire.venues.alpaca.messages import Position


class StubBroker:
    def __init__(self, positions: list[Any]) -> None:
        self.positions = positions

    @contextlib.contextmanager
    def background(self) -> Iterator[None]:
        yield

    async def list_all_open_orders(self) -> list[Any]:
        return []

    async def get_positions(self) -> list[Any]:
        return self.positions

    async def get_fee_activities(self, **kw: Any) -> list[Any]:
        return []


def test_a_confirmed_position_difference_is_a_position_corrected_event(tmp_path: Path):
    path = tmp_path / "j.twj"
    ledger = Ledger(o.OrderManager(), PositionBook(), Journal(path, fsync="never"))
    ledger.book.apply_fill("A", "buy", 3, 10.0)
    broker = StubBroker(
        [Position(symbol="A", qty=Decimal(5), avg_entry_price=Decimal(12), side="long")]
    )
    corrections: dict[str, int] = {}
    rec = Reconciler(broker, ledger, settling=set, corrections=corrections)  # type: ignore[arg-type]

    async def rounds() -> None:
        await rec.run_once("test")  # suspected
        await rec.run_once("test")  # confirmed

    asyncio.run(rounds())
    ledger.journal.close()
    assert ledger.book.qty("A") == 5.0
    assert corrections == {"position": 1}
    assert ledger.corrections == 1
    records = read_journal(path).records
    assert [(r.kind, r.cid, r.data) for r in records] == [
        ("position", "A", {"qty": 5.0, "avg": 12.0, "reason": "reconcile"})
    ]
    assert replay(records).book.qty("A") == 5.0


class FeeBroker(StubBroker):
    """A broker with fills charged a fee in the coin, posted as CFEE activities."""

    def __init__(self, positions: list[Any]) -> None:
        super().__init__(positions)
        self.fees: list[Any] = []  # newest first, as Alpaca's default direction
        self.fee_reads: list[dict[str, Any]] = []

    async def get_fee_activities(self, **kw: Any) -> list[Any]:
        self.fee_reads.append(kw)
        return list(self.fees)


def _cfee(act_id: str, qty: str) -> Any:
    from tradewire.venues.alpaca.messages import FeeActivity

    return FeeActivity(
        id=act_id, activity_type="CFEE", date="2026-12-04", symbol="BTCUSD", qty=Decimal(qty)
    )


def _btc(qty: str) -> Position:
    return Position(
        symbol="BTCUSD",
        qty=Decimal(qty),
        avg_entry_price=Decimal(60010),
        side="long",
        asset_class="crypto",
    )


def test_fees_since_the_last_read_are_booked_before_positions_are_compared(tmp_path: Path):
    path = tmp_path / "j.twj"
    ledger = Ledger(o.OrderManager(), PositionBook(), Journal(path, fsync="never"))
    broker = FeeBroker([])
    broker.fees = [_cfee("old", "-0.000025")]  # before start: in the start-up figures already
    corrections: dict[str, int] = {}
    rec = Reconciler(broker, ledger, settling=set, corrections=corrections)  # type: ignore[arg-type]

    async def rounds() -> None:
        await rec.run_once("start-up")
        ledger.book.apply_fill("BTC/USD", "buy", 0.01, 60010.0)
        broker.positions = [_btc("0.009975")]
        broker.fees = [_cfee("new", "-0.000025"), *broker.fees]
        for _ in range(3):  # the same activities on every read: each books once
            await rec.run_once("timer")

    asyncio.run(rounds())
    ledger.journal.close()
    assert ledger.book.qty("BTC/USD") == 0.009975
    assert corrections.get("position", 0) == 0
    assert ledger.fee_ids == {"new"}
    assert rec.fees_booked == 1
    assert all(r.get("direction", "desc") == "desc" for r in broker.fee_reads)
    records = read_journal(path).records
    assert [(r.kind, r.cid) for r in records] == [("fee", "BTC/USD")]


def test_a_coin_fee_read_before_its_fill_waits_for_the_fill(tmp_path: Path):
    ledger = Ledger(o.OrderManager(), PositionBook(), Journal(tmp_path / "j", fsync="never"))
    broker = FeeBroker([])
    corrections: dict[str, int] = {}
    rec = Reconciler(broker, ledger, settling=set, corrections=corrections)  # type: ignore[arg-type]

    async def rounds() -> None:
        await rec.run_once("start-up")
        broker.positions = [_btc("0.009975")]
        broker.fees = [_cfee("f1", "-0.000025")]
        await rec.run_once("timer")  # the fill is still on the stream: the fee waits
        assert ledger.book.qty("BTC/USD") == 0.0
        ledger.book.apply_fill("BTC/USD", "buy", 0.01, 60010.0)
        await rec.run_once("timer")

    asyncio.run(rounds())
    assert ledger.book.qty("BTC/USD") == 0.009975
    assert ledger.book.realized == 0.0
    assert corrections.get("position", 0) == 0


def test_a_restart_books_the_fees_posted_since_the_journals_newest(tmp_path: Path):
    # The crypto chaos run (issue 23): an engine SIGKILLed after a buy, before it read the
    # buy's CFEE. The restart's first read ignored every fee, so the journal's fee never
    # reached the ledger and start-up took the broker's qty as a counted correction.
    ledger = Ledger(o.OrderManager(), PositionBook(), Journal(tmp_path / "j", fsync="never"))
    ledger.fee_ids.add("f1")  # the journal booked f1; the live book is empty at start-up
    broker = FeeBroker([_btc("0.01995")])
    # newest first: f2 posted since the journal's newest (f1); f0 older than the journal
    broker.fees = [_cfee("f2", "-0.000025"), _cfee("f1", "-0.000025"), _cfee("f0", "-0.5")]
    rec = Reconciler(broker, ledger, settling=set, corrections={})  # type: ignore[arg-type]

    asyncio.run(rec.run_once("start-up"))
    asyncio.run(rec.run_once("timer"))  # read again: nothing more

    assert ledger.fee_ids == {"f1", "f2"}
    assert [f.activity_id for f in rec.startup_fees] == ["f2"]
    assert rec.fees_booked == 1


def test_a_first_read_with_no_fee_of_the_journals_books_nothing(tmp_path: Path):
    ledger = Ledger(o.OrderManager(), PositionBook(), Journal(tmp_path / "j", fsync="never"))
    broker = FeeBroker([])
    broker.fees = [_cfee("f2", "-0.000025"), _cfee("f1", "-0.000025")]
    rec = Reconciler(broker, ledger, settling=set, corrections={})  # type: ignore[arg-type]

    asyncio.run(rec.run_once("start-up"))
    asyncio.run(rec.run_once("timer"))

    assert ledger.fee_ids == set()
    assert rec.fees_booked == 0


MLEG_FIXTURE = (
    Path(__file__).resolve().parents[2] / "fixtures/alpaca/options/getallorders_examples.json"
)
LOW, HIGH = "AAPL241213C00250000", "AAPL241213C00260000"


def _mleg_listing(*, filled: bool) -> list[Any]:
    """Alpaca's mleg order as ``GET /v2/orders`` without ``nested`` lists it: the parent
    (its legs inside) and each leg again on its own (as the simulator lists them)."""
    import json

    import msgspec

    from tradewire.venues.alpaca.messages import Order as BrokerOrder

    raw = json.loads(MLEG_FIXTURE.read_text())["MultilegOptions"]
    if not filled:
        for order in (raw, *raw["legs"]):
            order.update(status="new", filled_qty="0", filled_avg_price=None, filled_at=None)
    listed = [raw, *({**leg, "legs": None} for leg in raw["legs"])]
    return [msgspec.json.decode(json.dumps(o), type=BrokerOrder) for o in listed]


class MlegBroker(StubBroker):
    """One mleg order, working, then filled (3 x LOW bought, 1 x HIGH sold)."""

    def __init__(self) -> None:
        super().__init__([])
        self.filled = False

    async def list_all_open_orders(self) -> list[Any]:
        return [] if self.filled else _mleg_listing(filled=False)

    async def list_orders(self, **kw: Any) -> list[Any]:
        return _mleg_listing(filled=self.filled)

    async def get_order_by_client_id(self, cid: str) -> Any:
        return next(b for b in _mleg_listing(filled=self.filled) if b.client_order_id == cid)

    async def get_positions(self) -> list[Any]:
        if not self.filled:
            return []
        return [
            Position(symbol=LOW, qty=Decimal(3), avg_entry_price=Decimal("0.43"), side="long"),
            Position(symbol=HIGH, qty=Decimal(-1), avg_entry_price=Decimal("0.01"), side="short"),
        ]


def test_an_mleg_orders_legs_listed_on_their_own_are_not_orders_of_their_own(tmp_path: Path):
    # Found by tests/faults/test_chaos_options.py: the open-orders pass adopted each leg of
    # a working mleg order as an external order; when the order filled, each leg's fill was
    # booked twice (through the parent's legs and as the "external" leg's own fill), and the
    # positions were wrong until a later round corrected them to the broker's.
    ledger = Ledger(o.OrderManager(), PositionBook(), Journal(tmp_path / "j.twj", fsync="never"))
    broker = MlegBroker()
    corrections: dict[str, int] = {}
    rec = Reconciler(broker, ledger, settling=set, corrections=corrections)  # type: ignore[arg-type]
    parent = _mleg_listing(filled=False)[0].client_order_id

    async def rounds() -> None:
        await rec.run_once("working")
        assert set(ledger.oms.orders) == {parent}  # the mleg order, adopted; no leg
        broker.filled = True
        for _ in range(3):
            await rec.run_once("filled")
            assert ledger.book.qty(LOW) == 3.0
            assert ledger.book.qty(HIGH) == -1.0

    asyncio.run(rounds())
    ledger.journal.close()
    assert ledger.oms.orders[parent].status is o.OrderStatus.FILLED
    assert "position" not in corrections
