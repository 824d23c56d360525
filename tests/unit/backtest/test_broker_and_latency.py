"""The backtest broker's fill models and the latency models, with hand-made quotes and prints."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tradewire.backtest.broker import BacktestBroker
from tradewire.backtest.latency import Distribution, parse_latency_model
from tradewire.errors import ConfigError
from tradewire.venues.polygon.messages import Quote, Trade


def quote(bid: float, ask: float, bid_lots: float = 3, ask_lots: float = 3) -> Quote:
    return Quote("AAPL", bid, ask, bid_lots, ask_lots, timestamp=1)


def print_(price: float, size: float) -> Trade:
    return Trade("AAPL", price, size, timestamp=1)


def limit_buy(broker: BacktestBroker, price: str, qty: str = "100", cid: str = "c1") -> str:
    order, execs = broker.submit(
        {
            "symbol": "AAPL",
            "side": "buy",
            "type": "limit",
            "time_in_force": "day",
            "qty": qty,
            "limit_price": price,
            "client_order_id": cid,
        }
    )
    assert [e.event for e in execs] == ["new"]
    return order.id


def fills(execs: list) -> list[tuple[str, float, float]]:
    return [(e.event, float(e.qty), float(e.price)) for e in execs if e.qty is not None]


def test_touch_model_fills_a_resting_bid_only_when_the_ask_reaches_it():
    broker = BacktestBroker(fill_model="touch", seed=1, starting_cash=Decimal(100_000))
    broker.quote(quote(100.00, 100.02))
    limit_buy(broker, "100.00")

    assert broker.trade(print_(100.00, 10_000)) == []  # prints never fill in this model
    assert fills(broker.quote(quote(99.99, 100.00))) == [("fill", 100.0, 100.00)]


def test_queue_model_fills_after_the_displayed_queue_ahead_trades_away():
    broker = BacktestBroker(fill_model="queue", seed=1, starting_cash=Decimal(100_000))
    broker.quote(quote(100.00, 100.02, bid_lots=3))  # 300 shares ahead at 100.00
    limit_buy(broker, "100.00", qty="100")

    assert broker.trade(print_(100.00, 200)) == []  # 100 still ahead
    assert broker.trade(print_(100.01, 500)) == []  # not at our price
    assert fills(broker.trade(print_(100.00, 150))) == [("partial_fill", 50.0, 100.00)]
    assert fills(broker.trade(print_(100.00, 80))) == [("fill", 50.0, 100.00)]


def test_queue_model_a_shrinking_level_moves_us_up_a_growing_one_does_not_move_us_back():
    broker = BacktestBroker(fill_model="queue", seed=1, starting_cash=Decimal(100_000))
    broker.quote(quote(100.00, 100.02, bid_lots=5))  # 500 ahead
    limit_buy(broker, "100.00", qty="100")
    broker.quote(quote(100.00, 100.02, bid_lots=1))  # cancels ahead of us: 100 ahead
    broker.quote(quote(100.00, 100.02, bid_lots=9))  # joiners queue behind us

    assert fills(broker.trade(print_(100.00, 150))) == [("partial_fill", 50.0, 100.00)]


def test_queue_model_a_bid_better_than_the_best_is_first_and_a_print_through_fills_all():
    broker = BacktestBroker(fill_model="queue", seed=1, starting_cash=Decimal(100_000))
    broker.quote(quote(100.00, 100.05))
    limit_buy(broker, "100.01", qty="100", cid="first")
    assert fills(broker.trade(print_(100.01, 30))) == [("partial_fill", 30.0, 100.01)]
    assert fills(broker.trade(print_(99.98, 1))) == [("fill", 70.0, 100.01)]


def test_broker_ids_are_the_same_for_the_same_seed():
    def ids(seed: int) -> list[str]:
        broker = BacktestBroker(fill_model="touch", seed=seed, starting_cash=Decimal(100_000))
        broker.quote(quote(100.00, 100.02))
        return [limit_buy(broker, "99.00", cid=f"c{i}") for i in range(3)]

    assert ids(5) == ids(5)
    assert ids(5) != ids(6)


def test_latency_models_parse_and_sample_within_their_bounds(tmp_path):
    assert parse_latency_model("zero").zero
    constant = parse_latency_model("constant:25,40")
    rng = random.Random(1)
    assert constant.feed.sample(rng) == 25_000
    assert constant.order.sample(rng) == 40_000

    bench = tmp_path / "bench.json"
    split = {
        "wire_in": {"p50": 10.0, "p90": 20.0, "p99": 50.0, "p99_9": 300.0},
        "engine": {"p50": 20.0, "p90": 25.0, "p99": 40.0, "p99_9": 100.0},
        "wire_out": {"p50": -0.5, "p90": 1.0, "p99": 4.0, "p99_9": 90.0},
    }
    bench.write_text(
        json.dumps({"tick_to_trade": {"contenders": {"tradewire": {"split_us": split}}}})
    )
    model = parse_latency_model(f"bench:{bench}")
    feed = sorted(model.feed.sample(rng) for _ in range(20_000))
    assert feed[0] >= 10_000
    assert feed[-1] <= 300_000
    assert feed[len(feed) // 2] == pytest.approx(10_000, abs=500)  # the median
    below_p99 = sum(1 for v in feed if v <= 50_000) / len(feed)
    assert below_p99 == pytest.approx(0.99, abs=0.004)
    order = [model.order.sample(rng) for _ in range(1000)]
    assert min(order) >= 20_000  # engine p50 + max(wire_out p50, 0)


@pytest.mark.parametrize("spec", ["fast", "constant:", "constant:-1", "constant:a,b", "bench:"])
def test_a_bad_latency_model_is_a_config_error(spec):
    with pytest.raises(ConfigError, match="latency-model"):
        parse_latency_model(spec)


def test_a_file_that_is_not_a_bench_json_is_named(tmp_path):
    other = tmp_path / "x.json"
    other.write_text("{}")
    with pytest.raises(ConfigError, match="not a `tradewire bench --json` file"):
        parse_latency_model(f"bench:{other}")


def test_distribution_is_monotone_even_from_a_non_monotone_summary():
    d = Distribution.from_percentiles_us({"p50": 10, "p90": 9, "p99": 30})
    assert [v for _, v in d.points] == sorted(v for _, v in d.points)


def test_two_backtest_brokers_each_stamp_their_own_simulated_time():
    # issue 21, CORE.md finding 7: the clock is the broker's, not a module global.
    times = {
        1: datetime(2024, 3, 1, 15, 30, tzinfo=UTC),
        2: datetime(2024, 3, 4, 15, 30, tzinfo=UTC),
    }
    brokers = {
        k: BacktestBroker(
            fill_model="touch", seed=1, starting_cash=Decimal(100_000), clock=lambda k=k: times[k]
        )
        for k in times
    }
    for broker in brokers.values():
        broker.quote(quote(100.00, 100.02))
    for k, broker in brokers.items():
        order, execs = broker.submit(
            {"symbol": "AAPL", "side": "buy", "type": "market", "time_in_force": "day", "qty": "1"}
        )
        assert (order.created_at, order.filled_at) == (times[k], times[k])
        assert {e.at for e in execs} == {times[k]}
        assert [f.transaction_time for f in broker.book.fills] == [times[k]]
