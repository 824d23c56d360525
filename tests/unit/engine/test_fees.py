"""Crypto fees through the ledger (issue 23): Alpaca charges a crypto fee in the asset
received and posts it as a CFEE/FEE activity; the engine books it as one ``FeeCharged``
event, journaled and replayed like a position correction, once per activity id."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradewire.engine import orders as o
from tradewire.engine.events import FeeCharged
from tradewire.engine.journal.codec import decode_belief, encode_belief
from tradewire.engine.journal.record import Record
from tradewire.engine.journal.replay import replay
from tradewire.engine.journal.store import Journal, read_journal
from tradewire.engine.ledger import Ledger
from tradewire.engine.positions import PositionBook

COIN_FEE = FeeCharged("BTC/USD", 0.000025, 0.0, "20261204000000000::e1")
USD_FEE = FeeCharged("BTC/USD", 0.0, 0.75, "20261204000000000::e2")


def _ledger(path: Path) -> Ledger:
    return Ledger(o.OrderManager(), PositionBook(), Journal(path, fsync="never"))


def _bought(ledger: Ledger, qty: float = 0.01, price: float = 60010.0) -> None:
    ledger.create(o.Order("c1", "BTC/USD", "buy", qty, "market", None, strategy="s"))
    ledger.apply("c1", o.Accepted("b1"))
    ledger.apply("c1", o.Fill("e1", qty, price))


@pytest.mark.parametrize("event", [COIN_FEE, USD_FEE], ids=["coin", "usd"])
def test_a_fee_round_trips_through_a_record(event: FeeCharged) -> None:
    kind, cid, data = encode_belief(event)
    assert decode_belief(Record(kind, cid, 1, data)) == event


def test_a_coin_fee_reduces_the_position_and_keeps_the_entry_price(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "j.twj")
    _bought(ledger)
    assert ledger.record(COIN_FEE) is True
    assert ledger.book.qty("BTC/USD") == pytest.approx(0.009975, abs=1e-12)
    assert ledger.book.get("BTC/USD").avg_price == 60010.0
    assert ledger.corrections == 0
    assert ledger.fees == 1


def test_a_usd_fee_reduces_realized_pnl(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "j.twj")
    _bought(ledger)
    ledger.record(USD_FEE)
    assert ledger.book.qty("BTC/USD") == pytest.approx(0.01)
    assert ledger.book.realized == pytest.approx(-0.75)


def test_an_activity_applied_twice_books_once(tmp_path: Path) -> None:
    path = tmp_path / "j.twj"
    ledger = _ledger(path)
    _bought(ledger)
    assert ledger.record(COIN_FEE) is True
    assert ledger.record(COIN_FEE) is False
    ledger.journal.close()
    assert ledger.book.qty("BTC/USD") == pytest.approx(0.009975, abs=1e-12)
    assert ledger.fees == 1
    assert [r.kind for r in read_journal(path).records].count("fee") == 1


def test_replay_rebuilds_fees_and_the_ids_seen(tmp_path: Path) -> None:
    path = tmp_path / "j.twj"
    ledger = _ledger(path)
    _bought(ledger)
    ledger.record(COIN_FEE)
    ledger.record(USD_FEE)
    ledger.journal.close()
    result = replay(read_journal(path).records)
    assert result.book.qty("BTC/USD") == pytest.approx(0.009975, abs=1e-12)
    assert result.book.realized == pytest.approx(-0.75)
    assert result.fee_ids == {COIN_FEE.activity_id, USD_FEE.activity_id}


def test_a_fee_record_with_a_bad_number_is_refused() -> None:
    with pytest.raises(ValueError, match="qty nan"):
        decode_belief(Record("fee", "BTC/USD", 1, {"qty": "nan", "usd": 0.0, "id": "x"}))


def test_a_dollar_fee_through_the_ledger_comes_off_the_accounts_cash() -> None:
    from decimal import Decimal

    from tradewire.engine.strategy import Strategy
    from tradewire.testing import FakeContext

    s = Strategy(symbols=["BTC/USD"])
    ctx = FakeContext(s, cash=10_000.0).start()
    ctx.ledger.record(FeeCharged("BTC/USD", 0.0, 0.75, "fee-1"))
    assert s.cash == Decimal("9999.25")
    assert s.buying_power == Decimal("9999.25")
    ctx.ledger.record(FeeCharged("BTC/USD", 0.0, 0.75, "fee-1"))  # the same activity
    ctx.ledger.record(FeeCharged("BTC/USD", 0.000025, 0.0, "fee-2"))  # in the coin: no cash
    assert s.cash == Decimal("9999.25")
