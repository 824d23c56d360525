"""Alpaca's fee activities as the engine's ``FeeCharged`` (issue 23): the real CFEE activity
(tests/fixtures/alpaca/crypto/crypto__activities__1.json) charges ``-0.000195`` ETH on
``ETHUSD``, which the engine keys ``ETH/USD``; a dollar fee is a negative ``net_amount``."""

from __future__ import annotations

from pathlib import Path

from tradewire.engine.events import FeeCharged
from tradewire.venues.alpaca.messages import FEE_ACTIVITIES_DECODER
from tradewire.venues.alpaca.reports import fee_from_activity

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "alpaca" / "crypto"


def test_the_real_cfee_activity_is_a_fee_in_the_coin_on_the_pair() -> None:
    raw = b"[" + (FIXTURES / "crypto__activities__1.json").read_bytes() + b"]"
    (act,) = FEE_ACTIVITIES_DECODER.decode(raw)
    assert fee_from_activity(act) == FeeCharged(
        "ETH/USD", 0.000195, 0.0, "20220812000000000::53be51ba-46f9-43de-b81f-576f241dc680"
    )


def test_a_dollar_fee_and_a_stock_fee_and_what_is_no_fee() -> None:
    acts = FEE_ACTIVITIES_DECODER.decode(
        b"""[
        {"id": "a1", "activity_type": "CFEE", "date": "2026-12-04", "net_amount": "-0.75",
         "description": "Coin Pair Transaction Fee (USD)", "symbol": "BTCUSD", "qty": "0",
         "price": "60000", "status": "executed"},
        {"id": "a2", "activity_type": "FEE", "date": "2026-12-04", "net_amount": "-0.02",
         "description": "REG fee", "symbol": "AAPL", "status": "executed"},
        {"id": "a3", "activity_type": "CFEE", "date": "2026-12-04", "net_amount": "0",
         "symbol": "BTCUSD", "qty": "0", "status": "executed"},
        {"id": "a4", "activity_type": "FEE", "date": "2026-12-04", "net_amount": "-1.5",
         "description": "ADR fee", "status": "executed"}
        ]"""
    )
    assert [fee_from_activity(a) for a in acts] == [
        FeeCharged("BTC/USD", 0.0, 0.75, "a1"),
        FeeCharged("AAPL", 0.0, 0.02, "a2"),
        None,  # nothing charged
        None,  # no symbol: the next read of the account brings its cash in
    ]
