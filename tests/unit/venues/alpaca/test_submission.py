"""The submission policy, sans-I/O: every branch of an order's outcome without a socket."""

from __future__ import annotations

from tradewire.errors import NonRetryableBrokerError, OrderRejected, RetryableBrokerError
from tradewire.venues.alpaca.errors import DUPLICATE_CLIENT_ORDER_ID
from tradewire.venues.alpaca.submission import (
    Accepted,
    LookUp,
    Rejected,
    Resend,
    SubmissionPolicy,
    Unresolved,
)


def policy(attempts: int = 3) -> SubmissionPolicy[str]:
    return SubmissionPolicy(attempts=attempts, backoff_s=0.1, max_backoff_s=0.3)


def test_a_200_is_accepted_at_once():
    assert policy().answered("order", None) == Accepted("order", False)


def test_a_definitive_refusal_is_rejected_without_a_lookup():
    error = OrderRejected("insufficient buying power", status=403)
    assert policy().answered(None, error) == Rejected(error)


def test_5xx_timeout_or_429_after_the_write_is_looked_up_never_resent_blindly():
    p = policy()
    assert p.answered(None, RetryableBrokerError("busy", status=503)) == LookUp(0.1)
    assert p.unknown
    assert policy().failed() == LookUp(0.1)


def test_not_found_resends_with_the_same_id_and_a_duplicate_id_then_means_it_landed():
    p = policy()
    p.failed()
    assert p.not_found() == Resend()
    duplicate = NonRetryableBrokerError(DUPLICATE_CLIENT_ORDER_ID, status=422)
    assert p.answered(None, duplicate) == LookUp(0.2)
    assert p.found("order") == Accepted("order", True)


def test_a_duplicate_id_on_the_first_send_is_a_rejection():
    # Not after an unknown outcome: another session used the id; nothing of ours landed.
    duplicate = NonRetryableBrokerError(DUPLICATE_CLIENT_ORDER_ID, status=422)
    assert policy().answered(None, duplicate) == Rejected(duplicate)


def test_lookups_back_off_and_give_up_as_unresolved():
    p = policy(attempts=3)
    assert [p.failed(), p.lookup_failed(), p.lookup_failed()] == [
        LookUp(0.1),
        LookUp(0.2),
        LookUp(0.3),
    ]
    assert p.lookup_failed() == Unresolved(3)


def test_a_resend_accepted_is_reported_as_resolved():
    p = policy()
    p.failed()
    p.not_found()
    assert p.answered("order", None) == Accepted("order", True)


def test_the_clients_steps_are_typed_and_keep_their_strings():
    # The client reported its steps as bare strings that the node matched by spelling
    # (issue 21, CORE.md finding 2).
    from tradewire.venues.alpaca.submission import SubmissionStep

    assert [s.value for s in SubmissionStep] == [
        "written",
        "acked",
        "resolved",
        "rejected",
        "unknown",
        "lookup",
        "resent",
        "unresolved",
    ]
    assert SubmissionStep.ACKED == "acked"


def test_the_client_reports_a_submission_step_not_a_string():
    import asyncio

    from tradewire.venues.alpaca.client import AlpacaClient
    from tradewire.venues.alpaca.http import Response
    from tradewire.venues.alpaca.order_body import OrderRequest
    from tradewire.venues.alpaca.submission import SubmissionStep

    body = b'{"id": "b1", "client_order_id": "u-1", "status": "accepted"}'
    request = OrderRequest("AAPL", "buy", "limit", "day", "u-1", qty="1", limit_price="100")
    client = AlpacaClient("k", "s", base_url="http://127.0.0.1:1")
    steps: list[object] = []
    client.on_order_event = lambda kind, cid, detail: steps.append(kind)

    async def settle() -> None:
        pending = asyncio.get_running_loop().create_future()
        pending.set_result(Response(200, {}, body))
        await client._settle(request.client_order_id, b"", pending)

    asyncio.run(settle())
    assert steps == [SubmissionStep.ACKED]
    assert all(type(s) is SubmissionStep for s in steps)
