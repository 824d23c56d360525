"""SimProcess reads the ready line with and without the Massive REST URL (issue 24)."""

from __future__ import annotations

from tradewire.sim.process import _READY


def test_the_ready_line_with_rest_gives_all_three_urls() -> None:
    line = b"tradewire sim ready feed=ws://h:1 broker=http://h:2 rest=http://h:3\n"
    match = _READY.search(line)
    assert match is not None
    assert match.groups() == (b"ws://h:1", b"http://h:2", b"http://h:3")


def test_an_older_ready_line_still_parses() -> None:
    match = _READY.search(b"tradewire sim ready feed=- broker=http://127.0.0.1:5\n")
    assert match is not None
    assert match.group(1, 2) == (b"-", b"http://127.0.0.1:5")
    assert match.group(3) is None
