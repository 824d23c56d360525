"""The simulator's Massive crypto cluster: channels, event keys and the synthetic 24/7 source
(issue 23). Real payloads: tests/fixtures/polygon/crypto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tradewire.sim.crypto_source import SyntheticCrypto
from tradewire.sim.feed import wire

FIXTURES = Path(__file__).parents[3] / "fixtures" / "polygon" / "crypto"


def _fixture(ev: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"spec__crypto__{ev}.json").read_text())
    return data


@pytest.mark.parametrize(
    ("channel", "market", "ok"),
    [
        ("XQ.BTC-USD", "crypto", True),
        ("XT.*", "crypto", True),
        ("XA.ETH-USD", "crypto", True),
        ("XAS.*", "crypto", True),
        ("XL2.BTC-USD", "crypto", True),
        ("Q.AAPL", "crypto", False),
        ("XQ.BTC-USD", "stocks", False),
        ("Q.AAPL", "stocks", True),
        ("XQ.", "crypto", False),
    ],
)
def test_channel_valid_per_market(channel: str, market: str, ok: bool) -> None:
    assert wire.channel_valid(channel, market) is ok


def test_market_of_path() -> None:
    assert wire.market_of_path("/crypto") == "crypto"
    assert wire.market_of_path("/stocks/") == "stocks"
    assert wire.market_of_path("/nope") is None


@pytest.mark.parametrize("ev", ["XQ", "XT", "XA", "XAS", "XL2"])
def test_event_channel_of_a_crypto_event_is_its_pair(ev: str) -> None:
    assert wire.event_channel(_fixture(ev)) == (ev, _fixture(ev)["pair"])


def test_synthetic_crypto_events_have_the_real_keys_and_types() -> None:
    market = SyntheticCrypto(["BTC/USD", "ETH/USD"], seed=3, start_ms=1_700_000_000_000)
    events = [e for _ in range(1500) for e in market.batch(4, advance_ms=100)]
    by_ev: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_ev.setdefault(e["ev"], []).append(e)
    assert set(by_ev) == {"XQ", "XT", "XA", "XAS"}
    for ev, items in by_ev.items():
        real = _fixture(ev)
        for e in items:
            assert set(e) == set(real)
            for key, value in real.items():
                assert type(e[key]) is type(value), (ev, key)
            assert e["pair"] in ("BTC-USD", "ETH-USD")
    for q in by_ev["XQ"]:
        assert 0 < q["bp"] < q["ap"]
        assert q["bs"] > 0
        assert q["as"] > 0
        assert q["r"] >= q["t"]
    for t in by_ev["XT"]:
        assert t["c"][0] in (0, 1, 2)
        assert t["s"] > 0
    ids = [t["i"] for t in by_ev["XT"]]
    assert len(set(ids)) == len(ids)


def test_synthetic_crypto_is_deterministic_for_a_seed() -> None:
    a = SyntheticCrypto(["BTC/USD"], seed=5, start_ms=1).batch(50)
    b = SyntheticCrypto(["BTC/USD"], seed=5, start_ms=1).batch(50)
    assert a == b


def test_bars_aggregate_the_trades_of_their_window() -> None:
    market = SyntheticCrypto(["BTC/USD"], seed=9, start_ms=60_000_000)
    events = [e for _ in range(3000) for e in market.batch(2, advance_ms=50)]
    trades = [e for e in events if e["ev"] == "XT"]
    for ev, width in (("XAS", 1_000), ("XA", 60_000)):
        bars = [e for e in events if e["ev"] == ev]
        assert bars
        for bar in bars:
            assert bar["e"] - bar["s"] == width
            inside = [t for t in trades if bar["s"] <= t["t"] < bar["e"]]
            assert inside
            assert bar["o"] == inside[0]["p"]
            assert bar["c"] == inside[-1]["p"]
            assert bar["h"] == max(t["p"] for t in inside)
            assert bar["l"] == min(t["p"] for t in inside)
            assert bar["v"] == pytest.approx(sum(t["s"] for t in inside))
