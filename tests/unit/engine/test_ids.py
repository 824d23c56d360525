from __future__ import annotations

from tradewire.engine.ids import ClientOrderIds


def test_ids_are_unique_short_and_differ_across_processes():
    a, b = ClientOrderIds(), ClientOrderIds()
    ids = {a.next() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(len(i) <= 24 for i in ids)
    assert a.prefix != b.prefix


def test_observe_continues_past_replayed_ids():
    ids = ClientOrderIds(prefix="tw-x-")
    ids.observe("tw-x-zz")
    ids.observe("other-1")
    assert ids.next() == "tw-x-100"
