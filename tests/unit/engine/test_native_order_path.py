"""The native order path sends what the Python path sends and journals the same bytes
(issue 26): two engine cores, one with the native path, one without, take the same orders on
the same clock; their journals, requests, handles and books must be identical, and the
orders the native path does not format itself (fractional quantities, sub-dollar or off-tick
prices, odd client order ids, other shapes) must reach the Python path untouched.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from tradewire import Strategy
from tradewire.engine import native
from tradewire.engine import orders as o
from tradewire.engine.config import RiskConfig
from tradewire.engine.core import EngineCore
from tradewire.engine.ids import ClientOrderIds
from tradewire.engine.journal.store import Journal, read_journal
from tradewire.engine.ledger import Ledger
from tradewire.engine.native_submit import attach
from tradewire.engine.positions import PositionBook
from tradewire.engine.risk import RiskEngine
from tradewire.live.recovery import replay_journal
from tradewire.testing import ManualClock
from tradewire.venues.alpaca.order_body import OrderRequest
from tradewire.venues.alpaca.order_builder import build_any
from tradewire.venues.alpaca.order_template import order_template
from tradewire.venues.alpaca.requests import RequestBuilder, encode_body

pytestmark = pytest.mark.skipif(
    native.NATIVE is None and not os.environ.get("CI"), reason=native.notice()
)

REQUESTS = RequestBuilder(
    host="127.0.0.1:1", key_id=SecretStr("k"), secret_key=SecretStr("s"), user_agent="t"
)


def request_bytes(request: OrderRequest) -> bytes:
    return REQUESTS.post_order(encode_body(request))


class Port:
    """A venue port that keeps the bytes each order would put on the wire."""

    build = staticmethod(build_any)

    def __init__(self) -> None:
        self.wire: list[tuple[str, bytes]] = []

    def send(self, client_order_id: str, request: Any, started_ns: int) -> None:
        self.wire.append((client_order_id, request_bytes(request)))

    def send_raw(self, client_order_id: str, raw: bytes, started_ns: int) -> None:
        self.wire.append((client_order_id, raw))

    def cancel(self, client_order_id: str, broker_id: str) -> None:
        raise AssertionError("no cancels here")

    def replace(self, *args: Any, **kw: Any) -> None:
        raise AssertionError("no replaces here")


class Side:
    """One engine core with its own journal, on the shared clock."""

    def __init__(self, path: Path, clock: ManualClock, *, use_native: bool, **journal: Any):
        self.journal = Journal(path, clock=clock.time_ns, **journal)
        self.ledger = Ledger(o.OrderManager(), PositionBook(), self.journal)
        self.port = Port()
        risk = RiskEngine(
            RiskConfig(max_open_orders=1000, max_order_qty=500, price_band_pct=10),
            native=True if use_native else None,
        )
        self.strategy = Strategy(name="s1", symbols=["AAPL", "MSFT"])
        self.core = EngineCore(
            [self.strategy],
            clock=clock,
            port=self.port,
            ids=ClientOrderIds(prefix="t-"),
            ledger=self.ledger,
            risk=risk,
        )
        if use_native:
            assert attach(
                self.core,
                lambda *key: order_template(build_any, request_bytes, *key),
                self.port.send_raw,
            )
        self.core.start()
        self.core.mids.update({"AAPL": 150.0, "MSFT": 0.5, "BTC/USD": 60_000.0})
        self.core.market.last_trades.update({"AAPL": 150.0})

    def submit(self, **order: Any) -> Any:
        args: dict[str, Any] = {
            "order_type": "limit",
            "limit_price": None,
            "stop_price": None,
            "time_in_force": "day",
            "extended_hours": False,
            "client_order_id": None,
        } | order
        symbol, side, qty = args.pop("symbol"), args.pop("side"), args.pop("qty")
        return self.core.submit(self.strategy, symbol, side, qty, **args)


# (order, whether the native path takes it)
ORDERS: list[tuple[dict[str, Any], bool]] = [
    ({"symbol": "AAPL", "side": "buy", "qty": 10, "limit_price": 150.25}, True),
    ({"symbol": "AAPL", "side": "sell", "qty": 5.0, "limit_price": 149.9}, True),
    ({"symbol": "AAPL", "side": "buy", "qty": 3, "order_type": "market"}, True),
    (
        {"symbol": "AAPL", "side": "buy", "qty": 7, "limit_price": 151.0, "time_in_force": "ioc"},
        True,
    ),
    (
        {"symbol": "AAPL", "side": "buy", "qty": 1, "limit_price": 150.0, "extended_hours": True},
        True,
    ),
    (
        {
            "symbol": "AAPL",
            "side": "buy",
            "qty": 2,
            "limit_price": 150.1,
            "client_order_id": "my-own-id",
        },
        True,
    ),
    (
        {
            "symbol": "AAPL",
            "side": "buy",
            "qty": 1,
            "limit_price": 150.0,
            "client_order_id": 'bad"id',
        },
        False,
    ),
    (
        {
            "symbol": "AAPL",
            "side": "buy",
            "qty": 1,
            "limit_price": 150.0,
            "client_order_id": "x" * 129,
        },
        False,
    ),
    ({"symbol": "AAPL", "side": "buy", "qty": 0.5, "order_type": "market"}, False),
    ({"symbol": "AAPL", "side": "buy", "qty": 1, "limit_price": 150.123}, False),
    ({"symbol": "AAPL", "side": "buy", "qty": 1, "limit_price": 150}, False),
    ({"symbol": "MSFT", "side": "buy", "qty": 10, "limit_price": 0.5}, False),
    (
        {"symbol": "AAPL", "side": "buy", "qty": 1, "order_type": "market", "limit_price": 150.0},
        False,
    ),
    ({"symbol": "AAPL", "side": "buy", "qty": 1, "order_type": "stop", "stop_price": 155.0}, False),
    (
        {"symbol": "AAPL", "side": "buy", "qty": 1, "limit_price": 150.0, "time_in_force": "xyz"},
        False,
    ),
    (
        {
            "symbol": "BTC/USD",
            "side": "buy",
            "qty": 0.01,
            "limit_price": 60_000.0,
            "time_in_force": "gtc",
        },
        False,
    ),
    ({"symbol": "AAPL", "side": "buy", "qty": 501, "limit_price": 150.0}, True),  # denied: max_qty
    ({"symbol": "AAPL", "side": "buy", "qty": 5, "limit_price": 190.0}, True),  # denied: band
    ({"symbol": "NONE", "side": "buy", "qty": 5, "order_type": "market"}, True),  # no reference
    ({"symbol": "AAPL", "side": "buy", "qty": float("nan"), "order_type": "market"}, False),
    ({"symbol": "AAPL", "side": "sell", "qty": 400, "limit_price": 149.5}, True),
]


def test_both_paths_send_journal_and_book_the_same_orders(tmp_path: Path) -> None:
    clock = ManualClock()
    fast = Side(tmp_path / "native.twj", clock, use_native=True)
    slow = Side(tmp_path / "python.twj", clock, use_native=False)
    assert fast.core.native is not None
    for i, (order, natively) in enumerate(ORDERS):
        clock.advance(0.01)
        sent_before = fast.core.native.sent
        a, b = fast.submit(**order), slow.submit(**order)
        assert (a.status, a.denied, a.client_order_id) == (b.status, b.denied, b.client_order_id)
        took = fast.core.native.sent > sent_before
        if not a.denied:
            assert took == natively, (i, order)
        assert fast.port.wire == slow.port.wire, (i, order)
    fast.journal.close()
    slow.journal.close()
    assert fast.core.native.sent >= 6
    assert fast.core.native.denied >= 3  # max_qty, the price band, no reference price
    assert fast.core.counters.orders_denied >= 4
    data = (tmp_path / "native.twj").read_bytes()
    assert data == (tmp_path / "python.twj").read_bytes()
    ours = replay_journal(tmp_path / "native.twj", ClientOrderIds(prefix="t-")).manager
    theirs = replay_journal(tmp_path / "python.twj", ClientOrderIds(prefix="t-")).manager
    assert ours.orders.keys() == theirs.orders.keys()
    assert ours.working == theirs.working == fast.ledger.oms.working
    assert fast.ledger.oms.working_notional == slow.ledger.oms.working_notional
    assert fast.journal.records_written == slow.journal.records_written


def test_the_native_path_hands_its_frame_to_replication_and_syncs_when_asked(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    fast = Side(tmp_path / "n.twj", clock, use_native=True, fsync="always")
    slow = Side(tmp_path / "p.twj", clock, use_native=False, fsync="always")
    frames: tuple[list[bytes], list[bytes]] = ([], [])
    fast.journal.on_frame, slow.journal.on_frame = frames[0].append, frames[1].append
    order = {"symbol": "AAPL", "side": "buy", "qty": 10, "limit_price": 150.25}
    fast.submit(**order)
    slow.submit(**order)
    assert frames[0] == frames[1]
    assert len(frames[0]) == 1
    assert not fast.journal.dirty or fast.journal.fsync == "always"


def test_a_journal_that_cannot_be_written_sends_nothing_and_keeps_the_token(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    fast = Side(tmp_path / "n.twj", clock, use_native=True)
    assert fast.core.risk is not None
    tokens = fast.core.risk.tokens
    os.close(fast.journal.fd)
    fast.journal.fd = os.open(os.devnull, os.O_RDONLY)  # writes fail with EBADF
    with pytest.raises(OSError, match="Bad file descriptor"):
        fast.submit(symbol="AAPL", side="buy", qty=1, limit_price=150.0)
    assert fast.port.wire == []
    assert fast.ledger.oms.orders == {}
    assert fast.core.risk.tokens == tokens


def test_prices_and_quantities_are_written_as_the_python_builder_writes_them(
    tmp_path: Path,
) -> None:
    import random

    rng = random.Random(26)
    clock = ManualClock()
    fast = Side(tmp_path / "n.twj", clock, use_native=True)
    slow = Side(tmp_path / "p.twj", clock, use_native=False)
    assert fast.core.native is not None
    for i in range(400):
        clock.advance(0.2)  # the throttle never denies
        price = round(rng.uniform(1.0, 160.0), rng.choice((0, 1, 2)))
        if rng.random() < 0.1:
            price = rng.uniform(1.0, 160.0)  # off the cent grid: the Python path refuses it
        qty: float = rng.randrange(1, 4) if rng.random() < 0.5 else float(rng.randrange(1, 4))
        buy_or_sell = rng.choice(("buy", "sell"))
        for core in (fast, slow):
            core.core.mids["AAPL"] = price  # inside the price band
            core.submit(symbol="AAPL", side=buy_or_sell, qty=qty, limit_price=price)
        assert fast.port.wire == slow.port.wire, (i, price, qty)
    assert fast.core.native.sent > 300
    fast.journal.close()
    slow.journal.close()
    assert (tmp_path / "n.twj").read_bytes() == (tmp_path / "p.twj").read_bytes()


def test_after_a_journal_rotation_the_native_path_writes_the_new_segment(tmp_path: Path) -> None:
    clock = ManualClock()
    fast = Side(tmp_path / "n.twj", clock, use_native=True)
    assert fast.core.native is not None
    fast.submit(symbol="AAPL", side="buy", qty=1, limit_price=150.0)
    archived = fast.journal.rotate([])
    clock.advance(1)
    fast.submit(symbol="AAPL", side="buy", qty=2, limit_price=150.0)
    fast.journal.close()
    assert fast.core.native.sent == 2
    old = [r.cid for r in read_journal(archived).records]
    new = [r.cid for r in read_journal(tmp_path / "n.twj").records]
    assert old == ["t-1"]
    assert new == ["t-2"]
