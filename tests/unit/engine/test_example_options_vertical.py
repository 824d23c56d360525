"""examples/options_vertical.py does what its docstring says (issue 24): it waits for the chain
and the underlying's price, buys the at-the-money call vertical of the first expiry at least
``min_days`` away as ONE mleg order at the spread's mid plus slippage, subscribes both legs,
and closes it with one opposite mleg at a credit once the spread's mid gained ``take_profit``
of the debit; one spread, then done."""

from __future__ import annotations

import importlib.util
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from tradewire import Quote, Strategy, occ_symbol
from tradewire.engine.chain import ChainEntry
from tradewire.testing import START_NS, FakeContext

ROOT = Path(__file__).parents[3]
TODAY = datetime.fromtimestamp(START_NS / 1e9, ZoneInfo("America/New_York")).date()
NEAR, NEXT = TODAY, TODAY + timedelta(days=7)


def vertical() -> type[Strategy]:
    spec = importlib.util.spec_from_file_location(
        "example_options_vertical", ROOT / "examples/options_vertical.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CallVertical  # type: ignore[no-any-return]


def _chain() -> list[ChainEntry]:
    out = []
    for expiry in (NEAR, NEXT):
        for strike in (395.0, 400.0, 405.0, 410.0):
            for right in ("call", "put"):
                sym = occ_symbol("SPY", expiry, right, strike)
                out.append(ChainEntry(sym, "SPY", expiry, right, strike))  # type: ignore[arg-type]
    return out


LONG = occ_symbol("SPY", NEXT, "call", 400)
SHORT = occ_symbol("SPY", NEXT, "call", 405)


def _legs(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(leg["symbol"], leg["side"], leg["position_intent"]) for leg in body["legs"]]


def test_it_buys_the_atm_vertical_once_and_takes_profit_with_one_closing_mleg() -> None:
    s = vertical()(symbols=["SPY"], params={"underlying": "SPY", "min_days": 1})
    ctx = FakeContext(s).start()
    ctx.advance(2)  # no chain, no price: nothing
    assert ctx.venue.multileg == []
    ctx.core.chains.put("SPY", _chain())
    ctx.feed([Quote("SPY", 401.0, 401.2, 1, 1)])
    ctx.advance(1)  # picks NEXT (NEAR is today, < min_days), strikes 400 / 405; subscribes
    assert "LONG" not in s.symbols
    assert LONG in s.symbols
    assert SHORT in s.symbols
    ctx.feed([Quote(LONG, 4.0, 4.2, 10, 10), Quote(SHORT, 2.0, 2.2, 10, 10)])
    ctx.advance(1)  # spread mid 2.00: a debit limit of 2.05; buy at 4.20, sell at 2.00: 2.20
    assert len(ctx.venue.multileg) == 1
    entry = msgspec.json.decode(msgspec.json.encode(ctx.venue.multileg[0]))
    assert entry["limit_price"] == "2.05"
    assert _legs(entry) == [(LONG, "buy", "buy_to_open"), (SHORT, "sell", "sell_to_open")]
    assert ctx.position(LONG).qty == 0  # 2.20 > 2.05: it rests
    ctx.feed([Quote(LONG, 4.0, 4.1, 10, 10), Quote(SHORT, 2.1, 2.2, 10, 10)])  # 4.10 - 2.10
    assert ctx.position(LONG).qty == 1
    assert ctx.position(SHORT).qty == -1
    assert s.paid == pytest.approx(2.0)
    ctx.advance(5)  # mid 1.95: no gain, no exit
    assert len(ctx.venue.multileg) == 1
    ctx.feed([Quote(LONG, 6.0, 6.2, 10, 10), Quote(SHORT, 3.0, 3.1, 10, 10)])  # mid 3.05
    ctx.advance(1)  # >= 2.00 x 1.5: close at a credit of 3.00
    assert len(ctx.venue.multileg) == 2
    exit_ = msgspec.json.decode(msgspec.json.encode(ctx.venue.multileg[1]))
    assert exit_["limit_price"] == "-3.00"
    assert _legs(exit_) == [(LONG, "sell", "sell_to_close"), (SHORT, "buy", "buy_to_close")]
    # sell 6.00, buy 3.10: a credit of 2.90 > the 3.00 asked: rests, then fills at 3.00
    assert ctx.position(LONG).qty == 1
    ctx.feed([Quote(SHORT, 2.9, 3.0, 10, 10)])
    assert ctx.position(LONG).qty == 0
    assert ctx.position(SHORT).qty == 0
    ctx.advance(30)
    assert len(ctx.venue.multileg) == 2  # one spread, then done
    # bought at 2.00, sold at 3.00, one spread of 100 shares
    assert s.realized_pnl == pytest.approx(100.0)
