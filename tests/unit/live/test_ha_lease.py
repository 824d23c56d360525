"""The lease state machine with explicit monotonic times (issue 25): acquisition, renewal,
fencing, takeover, and a deterministic simulation of racing machines on a CAS KV."""

from __future__ import annotations

import math

import pytest

from tradewire.live.ha.lease import Acquire, LeaseMachine, LeaseValue, Renew, Wait

L, M = 1.0, 0.2


def active_at(t0: float = 0.0, revision: int = 5, holder: str = "a") -> LeaseMachine:
    """A machine that acquired an empty key with a request sent at ``t0``."""
    m = LeaseMachine(holder, L, M)
    m.observed(0, None, t0)
    assert m.tick(t0) == Acquire(0, 1)
    m.renewed(True, t0, revision)
    return m


def test_nothing_happens_before_the_key_was_read() -> None:
    m = LeaseMachine("a", L, M)
    assert m.tick(0.0) == Wait(math.inf)
    assert not m.active
    assert not m.may_send(0.0)


def test_an_empty_key_is_created_at_once_and_the_creator_may_send_until_lease_minus_margin() -> (
    None
):
    m = LeaseMachine("a", L, M)
    m.observed(0, None, 10.0)
    assert m.tick(10.0) == Acquire(0, 1)
    assert m.tick(10.01) == Wait(math.inf)  # one request at a time
    assert not m.may_send(10.02)
    m.renewed(True, 10.0, 7)
    assert m.active
    assert m.term == 1
    assert m.revision == 7
    assert m.fence_at == pytest.approx(10.8)
    assert m.may_send(10.05)
    assert m.may_send(10.799)
    assert not m.may_send(10.8)


def test_a_deleted_key_is_taken_over_its_delete_marker_with_the_next_term() -> None:
    m = LeaseMachine("b", L, M)
    m.observed(3, LeaseValue("a", 4), 0.0)
    m.observed(9, None, 0.5)
    assert m.tick(0.5) == Acquire(9, 5)


def test_the_active_renews_every_third_of_the_lease_and_each_renewal_moves_the_fence() -> None:
    m = active_at(0.0, revision=5)
    assert m.tick(0.1) == Wait(pytest.approx(L / 3))
    assert m.tick(L / 3) == Renew(5, 1)
    m.renewed(True, L / 3, 6)
    assert m.fence_at == pytest.approx(L / 3 + L - M)
    assert m.tick(0.5) == Wait(pytest.approx(2 * L / 3))
    assert m.tick(2 * L / 3) == Renew(6, 1)
    m.renewed(True, 2 * L / 3, 8)
    assert m.may_send(2 * L / 3 + L - M - 0.001)
    assert not m.may_send(2 * L / 3 + L - M)
    assert m.term == 1


def test_the_fence_uses_the_time_the_request_was_sent_not_when_the_answer_came() -> None:
    m = active_at(0.0)
    assert isinstance(m.tick(L / 3), Renew)
    m.renewed(True, L / 3, 6)  # the answer took long: only the send time counts
    assert m.fence_at == pytest.approx(L / 3 + L - M)


def test_an_active_that_cannot_reach_the_kv_fences_at_lease_minus_margin_after_its_last_good_renew() -> (
    None
):
    m = active_at(0.0)
    t, renews = L / 3, 0
    while t < 2.0:
        action = m.tick(t)
        if isinstance(action, Renew):
            renews += 1
            m.renewed(False, t)  # timed out / disconnected: outcome unknown
        assert m.may_send(t) == (t < L - M), t
        assert m.active == (t < L - M), t
        t = round(t + 0.01, 6)
    assert 2 <= renews <= 4  # retried, at most every L/6
    assert m.tick(2.0) == Wait(math.inf)  # a standby waits for a read of the key


def test_a_renew_that_fails_once_is_retried_and_a_success_keeps_the_lease() -> None:
    m = active_at(0.0)
    assert m.tick(L / 3) == Renew(5, 1)
    m.renewed(False, L / 3)
    assert m.tick(L / 3 + 0.05) == Wait(pytest.approx(L / 3 + L / 6))
    assert m.tick(L / 2) == Renew(5, 1)
    m.renewed(True, L / 2, 6)
    assert m.may_send(L / 2 + L - M - 0.01)


def test_a_conflict_makes_the_active_a_standby_at_once() -> None:
    m = active_at(0.0)
    assert isinstance(m.tick(L / 3), Renew)
    m.renewed(False, L / 3, conflict=True)
    assert not m.active
    assert not m.may_send(L / 3 + 0.01)
    assert m.tick(L / 3 + 0.01) == Wait(math.inf)  # read the key before anything else


def test_a_read_naming_another_holder_or_none_makes_the_active_a_standby_at_once() -> None:
    m = active_at(0.0)
    m.observed(9, LeaseValue("b", 2), 0.1)
    assert not m.active
    assert not m.may_send(0.1)
    assert m.term == 2
    m2 = active_at(0.0)
    m2.observed(9, None, 0.1)
    assert not m2.may_send(0.1)


def test_a_read_of_our_own_newer_write_is_adopted_for_the_next_renewal() -> None:
    m = active_at(0.0, revision=5)
    assert isinstance(m.tick(L / 3), Renew)
    m.renewed(False, L / 3)  # timed out, but the server applied it as revision 6
    m.observed(6, LeaseValue("a", 1), 0.4)
    assert m.active
    assert m.fence_at == pytest.approx(L - M)  # the unseen success does not move the fence
    assert m.tick(L / 2) == Renew(6, 1)


def test_a_standby_takes_over_only_after_seeing_one_revision_for_lease_plus_margin() -> None:
    m = LeaseMachine("b", L, M)
    m.observed(7, LeaseValue("a", 3), 10.0)
    assert m.tick(10.0) == Wait(pytest.approx(10.0 + L + M))
    m.observed(7, LeaseValue("a", 3), 10.9)  # the same revision again: the wait goes on
    assert m.tick(11.19) == Wait(pytest.approx(11.2))
    assert not m.may_send(11.19)
    assert m.tick(11.2) == Acquire(7, 4)
    m.renewed(True, 11.2, 8)
    assert m.active
    assert m.term == 4
    assert m.may_send(11.3)


def test_a_new_revision_restarts_the_standby_wait() -> None:
    m = LeaseMachine("b", L, M)
    m.observed(7, LeaseValue("a", 3), 10.0)
    m.observed(8, LeaseValue("a", 3), 11.0)  # the active renewed
    assert m.tick(11.5) == Wait(pytest.approx(12.2))
    assert m.tick(12.2) == Acquire(8, 4)


def test_a_standby_that_loses_the_race_waits_for_the_next_read() -> None:
    m = LeaseMachine("b", L, M)
    m.observed(0, None, 0.0)
    assert m.tick(0.0) == Acquire(0, 1)
    m.renewed(False, 0.0, conflict=True)
    assert not m.active
    assert m.tick(0.1) == Wait(math.inf)
    m.observed(1, LeaseValue("c", 1), 0.2)
    assert m.tick(0.3) == Wait(pytest.approx(0.2 + L + M))


def test_a_standby_whose_acquire_timed_out_but_landed_reclaims_its_own_claim() -> None:
    m = LeaseMachine("b", L, M)
    m.observed(0, None, 0.0)
    assert m.tick(0.0) == Acquire(0, 1)
    m.renewed(False, 0.0)  # unknown
    assert m.tick(0.2) == Wait(math.inf)
    m.observed(1, LeaseValue("b", 1), 0.3)  # it did land
    assert m.tick(0.3) == Acquire(1, 2)
    m.renewed(True, 0.3, 2)
    assert m.active
    assert m.term == 2


def test_a_fenced_active_still_named_in_the_key_reclaims_with_the_next_term() -> None:
    m = active_at(0.0, revision=5)
    assert m.tick(L / 3) == Renew(5, 1)
    m.renewed(False, L / 3)
    assert m.tick(L - M) == Acquire(5, 2)  # fenced; the CAS proves whether anyone took over
    assert not m.active
    assert not m.may_send(L - M)
    m.renewed(False, L - M)
    assert m.tick(1.0) == Wait(math.inf)
    m.observed(5, LeaseValue("a", 1), 1.5)  # nobody took over
    assert m.tick(1.5) == Acquire(5, 2)


def test_a_renewal_answered_after_the_fence_does_not_reactivate_the_old_term() -> None:
    m = active_at(0.0, revision=5)
    assert m.tick(0.7) == Renew(5, 1)
    assert m.tick(L - M) == Wait(math.inf)  # fenced while the request is in flight
    assert not m.active
    m.renewed(True, 0.7, 6)
    assert not m.active
    assert m.tick(0.85) == Acquire(6, 2)


def test_a_fenced_active_whose_reclaim_failed_still_reclaims_its_older_value() -> None:
    m = active_at(0.0, revision=5)
    assert m.tick(L - M) == Acquire(5, 2)  # fenced; the store is down
    m.renewed(False, L - M)
    m.observed(5, LeaseValue("a", 1), 3.0)  # back: the key still holds our term 1
    assert m.tick(3.0) == Acquire(5, 2)


def test_a_renewal_answered_after_the_fence_ends_the_term_even_before_a_tick() -> None:
    m = active_at(0.0, revision=5)
    assert m.tick(0.7) == Renew(5, 1)
    m.renewed(True, 0.7, 6, answered_at=0.85)  # no tick at the fence (0.8) in between
    assert not m.active
    assert not m.may_send(0.86)
    assert m.tick(0.86) == Acquire(6, 2)
    m.renewed(True, 0.86, 7, answered_at=0.87)
    assert m.active
    assert m.term == 2


def test_the_same_holder_id_in_the_key_from_a_previous_run_is_waited_out_like_any_other() -> None:
    m = LeaseMachine("a", L, M)
    m.observed(4, LeaseValue("a", 9), 0.0)
    assert m.tick(0.0) == Wait(pytest.approx(L + M))


def test_release_stops_sending_and_names_the_revision_to_delete_only_while_ours() -> None:
    m = active_at(0.0, revision=5)
    assert m.release() == 5
    assert not m.active
    assert not m.may_send(0.1)
    assert m.tick(0.2) == Wait(math.inf)
    other = active_at(0.0, revision=5)
    other.observed(6, LeaseValue("b", 2), 0.1)
    assert other.release() is None
    assert LeaseMachine("c", L, M).release() is None


@pytest.mark.parametrize(("lease_s", "margin_s"), [(0.0, 0.0), (1.0, 0.0), (1.0, 0.34), (-1, 0.1)])
def test_the_margin_must_be_positive_and_below_a_third_of_the_lease(
    lease_s: float, margin_s: float
) -> None:
    with pytest.raises(ValueError, match="margin_s"):
        LeaseMachine("a", lease_s, margin_s)
    with pytest.raises(ValueError, match="holder"):
        LeaseMachine("", 1.0, 0.1)


def test_the_value_round_trips_and_garbage_is_a_foreign_holder() -> None:
    v = LeaseValue("gw-1", 12)
    assert LeaseValue.decode(v.encode()) == v
    for bad in (b"", b"{", b"[]", b'{"holder": 1, "term": 2}', b'{"holder": "x", "term": true}'):
        assert LeaseValue.decode(bad) == LeaseValue("<unreadable>", 0)
