"""The simulator's options source (issue 24): chains listed from the underlying's mid, only
subscribed contracts quoted on the feed (bounded per tick), every other contract priced in turn
into the shared market under Alpaca's symbol, trades now and then, minute bars of them, with
Massive's field names and types, and ``tradewire sim --options``."""

from __future__ import annotations

import argparse

import pytest

from tradewire.sim import cli
from tradewire.sim.market import NBBO, MarketState
from tradewire.sim.option_chain import OptionChains
from tradewire.sim.option_source import SyntheticOptions
from tradewire.sim.venue import VenueConfig, VenueSimulator

T0 = 1_785_420_000_000  # 2026-07-30 14:00 UTC, a Thursday


def _source(max_quotes: int = 64) -> tuple[SyntheticOptions, MarketState]:
    market = MarketState()
    market.publish_quote(NBBO("SPY", 599.99, 100, 600.01, 100, T0))
    return SyntheticOptions(OptionChains(), ["spy"], market, seed=1, max_quotes=max_quotes), market


def test_nothing_is_sent_before_the_underlying_has_a_price() -> None:
    source = SyntheticOptions(OptionChains(), ["SPY"], MarketState())
    assert source.tick(lambda ev, t: True, now_ms=T0) == []
    assert len(source.chains) == 0


def test_only_subscribed_contracts_are_quoted_and_the_rest_priced_into_the_market() -> None:
    source, market = _source()
    wanted = "O:SPY260731P00600000"
    events = source.tick(lambda ev, ticker: ticker == wanted, now_ms=T0)
    assert len(source.chains) == 66
    quotes = [e for e in events if e["ev"] == "Q"]
    assert [q["sym"] for q in quotes] == [wanted]
    [q] = quotes
    assert set(q) == {"ev", "sym", "bx", "ax", "bp", "ap", "bs", "as", "t", "q"}
    assert isinstance(q["bp"], float)
    assert isinstance(q["bs"], int)
    assert q["t"] == T0
    assert 0 < q["bp"] < q["ap"]
    assert q["bx"] >= 300
    # The unsubscribed contracts: a few per tick, in turn, straight into the market.
    assert len(market.quotes) == 1 + source.background
    for _ in range(10):
        source.tick(lambda ev, ticker: ticker == wanted, now_ms=T0)
    assert set(source.chains.by_symbol) - {wanted[2:]} <= set(market.quotes)
    # Unmoved underlying, unmoved model: no new quote of the subscribed contract.
    assert [e for e in source.tick(lambda ev, t: t == wanted, now_ms=T0) if e["ev"] == "Q"] == []


def test_quotes_per_tick_are_bounded_and_taken_in_turn() -> None:
    source, market = _source(max_quotes=10)
    seen: set[str] = set()
    for i in range(7):
        market.publish_quote(NBBO("SPY", 599.99 + i, 100, 600.01 + i, 100, T0 + i))
        events = source.tick(lambda ev, t: True, now_ms=T0 + i)
        quotes = [e["sym"] for e in events if e["ev"] == "Q"]
        assert len(quotes) == 10
        seen.update(quotes)
    assert len(seen) == 66  # every contract gets its turn


def test_trades_print_at_the_quote_and_make_minute_bars_with_massive_fields() -> None:
    source, market = _source()
    source.trade_probability = 1.0
    events = []
    for i in range(130):  # two minutes and more, a tick a second
        ms = T0 + i * 1000
        market.publish_quote(NBBO("SPY", 599.99 + i % 3, 100, 600.01 + i % 3, 100, ms))
        events += source.tick(lambda ev, t: t == "O:SPY260731C00600000", now_ms=ms)
    trades = [e for e in events if e["ev"] == "T"]
    assert trades
    assert set(trades[0]) == {"ev", "sym", "x", "p", "s", "c", "t", "q"}
    assert all(t["c"] == [233] and isinstance(t["s"], int) for t in trades)
    minutes = [e for e in events if e["ev"] == "AM"]
    assert len(minutes) == 2
    bar = minutes[0]
    assert set(bar) == {"ev", "sym", "v", "av", "op", "vw", "o", "c", "h", "l", "a", "z", "s", "e"}
    assert bar["sym"] == "O:SPY260731C00600000"
    assert bar["e"] - bar["s"] == 60_000
    seqs = [e["q"] for e in events if e["ev"] in ("Q", "T")]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)


def test_sim_options_adds_the_underlyings_to_the_stocks() -> None:
    parser = argparse.ArgumentParser()
    cli.configure(parser)
    args = parser.parse_args(["--symbols", "AAPL", "--options", "spy,AAPL,spy"])
    config = cli.venue_config(args)
    assert config.options == ("SPY", "AAPL")
    with pytest.raises(SystemExit):
        parser.parse_args(["--options", "SPY,1X!"])


def test_the_venue_quotes_an_options_underlying_and_keeps_its_chains() -> None:
    sim = VenueSimulator(VenueConfig(symbols=("AAPL",), options=("SPY",)))
    assert list(sim.config.symbols) == ["AAPL", "SPY"]
    assert isinstance(sim.option_chains, OptionChains)


def test_a_chain_listed_after_the_close_starts_at_the_next_expiry() -> None:
    # Found on a Friday after 4 PM ET: the simulator listed that day's expiry, already
    # expired, and the REST snapshot (which leaves expired contracts out) served 2 of 3.
    from datetime import UTC, date, datetime

    from tradewire.sim.option_chain import listing_day, listing_fridays

    friday_noon = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)  # 12:00 ET
    friday_evening = datetime(2026, 12, 4, 21, 5, tzinfo=UTC)  # 16:05 ET
    assert listing_fridays(listing_day(friday_noon), 1) == [date(2026, 12, 4)]
    assert listing_fridays(listing_day(friday_evening), 1) == [date(2026, 12, 11)]
