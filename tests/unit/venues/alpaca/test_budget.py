"""The broker's request budget goes to the kill switch first, then orders, then reads."""

from __future__ import annotations

import asyncio
import time

import pytest

from tradewire.errors import OrderNotSent
from tradewire.venues.alpaca.budget import Priority, RequestBudget, request_priority
from tradewire.venues.alpaca.ratelimit import TokenBucket


def empty_budget(per_minute: int = 6000) -> RequestBudget:
    """A budget with no token left; one comes back every 60/per_minute seconds (10 ms)."""
    bucket = TokenBucket(per_minute=per_minute, now_s=time.monotonic(), burst=1)
    bucket.tokens = 0.0
    return RequestBudget(bucket)


async def test_waiting_requests_get_tokens_kill_first_then_orders_then_reads():
    budget = empty_budget()
    granted: list[str] = []

    async def take(name: str, priority: Priority) -> None:
        await budget.take(priority)
        granted.append(name)

    tasks = [
        asyncio.create_task(take("read", Priority.READ)),
        asyncio.create_task(take("order", Priority.ORDER)),
        asyncio.create_task(take("kill", Priority.KILL)),
    ]
    await asyncio.wait_for(asyncio.gather(*tasks), 2)

    assert granted == ["kill", "order", "read"]


async def test_while_the_kill_switch_holds_the_budget_nobody_else_gets_a_token():
    budget = RequestBudget(TokenBucket(per_minute=6000, now_s=time.monotonic()))  # full
    with budget.reserved_for_kill():
        with request_priority(Priority.READ):
            read = asyncio.create_task(budget.take())
        order = asyncio.create_task(budget.take(Priority.ORDER))
        await asyncio.sleep(0.05)
        assert not read.done()
        assert not order.done()
        assert not budget.try_take_now()
        await asyncio.wait_for(budget.take(), 1)  # the kill's own task: Priority.KILL
    await asyncio.wait_for(asyncio.gather(read, order), 1)


async def test_a_halt_fails_every_waiting_order_at_once_and_every_later_one():
    budget = empty_budget(per_minute=6)  # one token in 10 s: nothing is granted in this test
    orders = [asyncio.create_task(budget.take(Priority.ORDER, order=True)) for _ in range(3)]
    cancel = asyncio.create_task(budget.take(Priority.ORDER))  # a cancel is no submission
    await asyncio.sleep(0)

    failed = budget.halt_orders(OrderNotSent("order not sent: kill switch"))

    assert failed == 3
    results = await asyncio.wait_for(asyncio.gather(*orders, return_exceptions=True), 1)
    assert all(isinstance(r, OrderNotSent) for r in results)
    assert not cancel.done()
    with pytest.raises(OrderNotSent):
        await budget.take(Priority.ORDER, order=True)
    cancel.cancel()


async def test_the_hot_path_does_not_jump_the_queue():
    budget = empty_budget()
    waiting = asyncio.create_task(budget.take(Priority.READ))
    await asyncio.sleep(0)
    budget.bucket.tokens = 1.0  # a token came back: it belongs to the one who waited

    assert not budget.try_take_now()
    await asyncio.wait_for(waiting, 1)


async def test_a_gate_is_asked_at_each_order_and_its_first_no_halts_the_orders():
    # A failover fence that only polls: a process woken from SIGSTOP ran a strategy's timer
    # and sent an order with the lapsed term's id before the poll halted it (issue 25).
    bucket = TokenBucket(per_minute=6000, now_s=time.monotonic(), burst=10)
    budget = RequestBudget(bucket)
    allowed = [True]
    budget.gate_orders(lambda: allowed[0], OrderNotSent("order not sent: lost the lease"))

    assert budget.try_take_now()
    await budget.take(Priority.ORDER, order=True)
    assert budget.halted is None

    allowed[0] = False  # no poll ran: the next order itself asks
    assert not budget.try_take_now()
    assert isinstance(budget.halted, OrderNotSent)
    with pytest.raises(OrderNotSent, match="lost the lease"):
        await budget.take(Priority.ORDER, order=True)
    allowed[0] = True  # a halt is for good, as the kill switch's
    with pytest.raises(OrderNotSent):
        await budget.take(Priority.ORDER, order=True)
    await asyncio.wait_for(budget.take(Priority.ORDER), 1)  # cancels and reads still go


async def test_a_gated_client_writes_no_order_once_the_gate_says_no():
    from tradewire import AlpacaClient
    from tradewire.sim.broker.server import AlpacaBrokerServer
    from tradewire.sim.market import NBBO
    from tradewire.venues.alpaca.order_body import OrderRequest

    async with AlpacaBrokerServer() as broker:
        broker.market.publish_quote(NBBO("AAPL", 149.99, 100, 150.00, 100, 1))
        client = AlpacaClient("test-key", "test-secret", base_url=broker.base_url)
        await client.connect()
        try:
            allowed = [True]
            client.gate_orders(lambda: allowed[0], "lost the failover lease")

            def order(cid: str) -> OrderRequest:
                return OrderRequest(
                    symbol="AAPL", qty="1", side="buy", type="limit", time_in_force="day",
                    limit_price="100", client_order_id=cid,
                )  # fmt: skip

            await asyncio.wait_for(client.submit_order_nowait(order("a-1")), 5)
            allowed[0] = False
            with pytest.raises(OrderNotSent, match="lost the failover lease"):
                await asyncio.wait_for(client.submit_order_nowait(order("a-2")), 5)
            with pytest.raises(OrderNotSent):
                await asyncio.wait_for(client.submit_order(order("a-3")), 5)
            assert [r["client_order_id"] for r in broker.order_requests] == ["a-1"]
        finally:
            await client.close()


def test_a_closed_gate_fences_every_change_but_not_a_kill_s_halt() -> None:
    # A failover member woken after its lease lapsed ran its worker-timeout cancel: a cancel
    # is the next active's to make, so once the gate says no, nothing that changes the broker
    # leaves. A kill's halt stops orders only: its cancels must go.
    def fresh() -> RequestBudget:
        return RequestBudget(TokenBucket(per_minute=6000, now_s=time.monotonic()))

    budget = fresh()
    budget.halt_orders(RuntimeError("kill"))
    assert budget.fence() is None  # no gate: a halt alone fences nothing
    allowed = [True]
    gated = fresh()
    gated.gate_orders(lambda: allowed[0], RuntimeError("lost the lease"))
    assert gated.fence() is None
    allowed[0] = False
    error = gated.fence()
    assert error is not None
    assert "lost the lease" in str(error)
    allowed[0] = True  # the first no is for good
    assert gated.fence() is error
