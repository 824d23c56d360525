"""No order lost, none duplicated, under every broker fault (asserted on the simulator's book)."""

from __future__ import annotations

import asyncio

import pytest

from tradewire.errors import OrderOutcomeUnknown, OrderRejected
from tradewire.venues.alpaca.messages import Order

N = 6


async def test_orders_with_5xx_half_the_time_land_exactly_once(
    client, broker, place_batch, assert_exactly_once
):
    broker.faults.error_5xx_rate = 0.5
    results = await place_batch(client, "e5", N)
    broker.faults.error_5xx_rate = 0.0
    assert all(isinstance(r, Order) for r in results), results
    assert_exactly_once(broker, "e5", N)


@pytest.mark.parametrize("mode", ["504", "drop"])
async def test_orders_accepted_then_response_lost_are_resolved_not_resent(
    client, broker, mode, place_batch, assert_exactly_once
):
    broker.faults.accept_then_fail_mode = mode
    broker.faults.accept_then_fail_next = N
    results = await place_batch(client, f"atf{mode}", N)
    assert all(isinstance(r, Order) for r in results), results
    assert_exactly_once(broker, f"atf{mode}", N)
    assert client.orders_unknown == N
    assert client.orders_resent == 0  # they had landed: looked up, never resent


async def test_orders_with_connection_dropped_before_answer_land_once(
    client, broker, place_batch, assert_exactly_once
):
    broker.faults.drop_connection_after_requests = 2
    results = await place_batch(client, "drop", N)
    assert all(isinstance(r, Order) for r in results), results
    assert_exactly_once(broker, "drop", N)


async def test_orders_with_stalled_responses_time_out_and_resolve(
    client, broker, place_batch, assert_exactly_once
):
    broker.faults.stall_next_requests = 2
    results = await place_batch(client, "stall", N)
    assert all(isinstance(r, Order) for r in results), results
    assert_exactly_once(broker, "stall", N)


async def test_orders_slower_than_the_client_timeout_are_resolved_once(
    client, broker, place_batch, assert_exactly_once
):
    # Arrange: every answer takes longer than the client's 0.3 s timeout, until the venue recovers.
    broker.faults.latency_s = 0.5
    asyncio.get_running_loop().call_later(0.6, setattr, broker.faults, "latency_s", 0.0)

    # Act
    results = await place_batch(client, "slow", 3)

    # Assert: each outcome was unknown, then resolved by lookup; each order exists once.
    assert all(isinstance(r, Order) for r in results), results
    assert client.orders_unknown == 3
    assert_exactly_once(broker, "slow", 3)


async def test_orders_with_venue_unreachable_for_good_end_unknown_not_duplicated(
    broker, place_batch, assert_exactly_once
):
    from tradewire import AlpacaClient
    from tradewire.venues.alpaca.config import AlpacaBrokerConfig

    config = AlpacaBrokerConfig(request_timeout_s=0.1, resolve_backoff_s=0.01, resolve_attempts=2)
    client = AlpacaClient("test-key", "test-secret", base_url=broker.base_url, config=config)
    broker.faults.latency_s = 0.3  # nothing ever answers in time
    (result,) = await place_batch(client, "gone", 1)
    broker.faults.latency_s = 0.0
    assert isinstance(result, OrderOutcomeUnknown)
    assert result.client_order_id == "gone-0"
    assert_exactly_once(broker, "gone", 1)  # it landed; we never resent it blindly
    await client.close()


async def test_order_rejected_with_422_is_reported_and_not_resent(
    client, broker, place_batch, assert_exactly_once
):
    broker.faults.reject_next_with = (
        422,
        42210000,
        "potential wash trade detected. use complex orders",
    )
    (result,) = await place_batch(client, "rej", 1)
    assert isinstance(result, OrderRejected)
    assert result.code == 42210000
    assert "rej-0" not in broker.book.orders_by_client_id
    assert client.orders_resent == 0


async def test_order_rejected_with_403_is_reported(
    client, broker, place_batch, assert_exactly_once
):
    broker.faults.reject_next_with = (403, 40310000, "insufficient buying power")
    (result,) = await place_batch(client, "bp", 1)
    assert isinstance(result, OrderRejected)
    assert result.status == 403


async def test_an_unresolved_order_whose_caller_stopped_waiting_logs_no_task_traceback(
    broker, until
):
    # Found under 429: a stop cancels what it waits on, the submission goes on (it may have
    # been written), ends unresolved, and asyncio printed "Task exception was never
    # retrieved" with a traceback for each such order.
    import gc

    from tradewire import AlpacaClient
    from tradewire.venues.alpaca.config import AlpacaBrokerConfig
    from tradewire.venues.alpaca.order_body import OrderRequest

    loop = asyncio.get_running_loop()
    reported: list[str] = []
    loop.set_exception_handler(lambda _loop, ctx: reported.append(ctx["message"]))
    config = AlpacaBrokerConfig(request_timeout_s=0.2, resolve_backoff_s=0.01, resolve_attempts=2)
    client = AlpacaClient("test-key", "test-secret", base_url=broker.base_url, config=config)
    await client.connect()
    broker.faults.update({"error_5xx_rate": 1, "error_status": 503})
    request = OrderRequest("AAPL", "buy", "limit", "day", "u-1", qty="1", limit_price="100")

    steps: list[str] = []
    client.on_order_event = lambda kind, cid, detail: steps.append(kind)

    outer = client.submit_order_nowait(request)
    outer.cancel()  # the caller stopped waiting
    await until(lambda: "unresolved" in steps, timeout_s=10)
    for _ in range(3):  # the task's done callbacks, then its end
        await asyncio.sleep(0)
    gc.collect()
    broker.faults.update({"error_5xx_rate": 0})
    await client.close()

    assert client.orders_unknown == 1
    assert reported == []
