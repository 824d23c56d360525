"""examples/crypto_dca.py does what its docstring says (issue 23): every ``interval_s`` it buys
``notional`` dollars of its pair with a market order, none before the pair's first quote, none
once the position reaches ``max_qty``, one at a time, and it never sells."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tradewire import Strategy
from tradewire.engine.config import RiskConfig
from tradewire.testing import FakeContext
from tradewire.venues.polygon.crypto import CryptoQuote

ROOT = Path(__file__).parents[3]


def crypto_dca() -> type[Strategy]:
    spec = importlib.util.spec_from_file_location(
        "example_crypto_dca", ROOT / "examples/crypto_dca.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CryptoDCA  # type: ignore[no-any-return]


def _quote(ask: float = 60_000.0) -> CryptoQuote:
    return CryptoQuote("BTC-USD", bid_price=ask - 10, ask_price=ask, timestamp=0)


def _bodies(ctx: FakeContext) -> list[dict[str, Any]]:
    return [msgspec.json.decode(msgspec.json.encode(r)) for r in ctx.orders]


def test_it_buys_the_notional_every_interval_up_to_the_max_position_and_never_sells() -> None:
    params = {"notional": 250, "interval_s": 5, "max_qty": 0.01}
    s = crypto_dca()(symbols=["btc/usd"], params=params)
    ctx = FakeContext(s, risk=RiskConfig(price_band_pct=50)).start()
    ctx.advance(12)  # two ticks before any quote: no reference price, no buy
    assert ctx.orders == []
    ctx.feed([_quote()])
    ctx.advance(3)  # t=15: the first buy
    assert [(b["symbol"], b["side"], b["type"], b["notional"]) for b in _bodies(ctx)] == [
        ("BTC/USD", "buy", "market", "250")
    ]
    assert ctx.position("BTC/USD").qty == pytest.approx(0.0041)  # 250 / 60,000 at 0.0001
    ctx.advance(4)  # t=19: no tick yet
    assert len(ctx.orders) == 1
    ctx.advance(1)  # t=20: the second
    assert len(ctx.orders) == 2
    ctx.advance(5)  # t=25: 0.0082 < 0.01, a third
    assert ctx.position("BTC/USD").qty == pytest.approx(0.0123)
    ctx.advance(60)  # at or past max_qty: no more
    bodies = _bodies(ctx)
    assert len(bodies) == 3
    assert {b["side"] for b in bodies} == {"buy"}
    assert {b.get("qty") for b in bodies} == {None}
    assert s.buys == 3  # type: ignore[attr-defined]
    ctx.stop()


def test_one_buy_at_a_time_per_pair() -> None:
    s = crypto_dca()(symbols=["BTC/USD"], params={"interval_s": 1})
    ctx = FakeContext(s, risk=RiskConfig(price_band_pct=50)).start()
    ctx.feed([_quote()])
    ctx.venue._try = lambda cid, request: False  # type: ignore[method-assign]  # nothing fills
    ctx.advance(5)
    assert len(ctx.orders) == 1  # the first is still working: no second
    ctx.stop()


def test_its_defaults() -> None:
    s = crypto_dca()(symbols=["BTC/USD"])
    assert (s.params.notional, s.params.interval_s, s.params.max_qty) == (250.0, 2.0, 0.05)
