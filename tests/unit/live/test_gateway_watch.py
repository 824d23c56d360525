from __future__ import annotations

from tradewire.live.gateway_watch import GatewayWatch


def test_silence_is_said_once_then_reminded_and_the_return_is_said():
    said: list[str] = []
    watch = GatewayWatch(said.append, gone_after_s=3.0, remind_s=10.0)
    watch.tick(100.0)
    assert said == []  # never welcomed: the start-up timeout speaks for that
    watch.beat(100.0)
    for t in (101.0, 102.0, 102.9):
        watch.tick(t)
    assert said == []
    watch.tick(103.0)
    assert said == [
        "gateway gone: no heartbeat for 3 s; still trying, orders wait until it is back"
    ]
    for t in range(104, 113):
        watch.tick(float(t))
    assert len(said) == 1
    watch.tick(113.0)
    assert said[-1] == "still waiting for the gateway (13 s)"
    watch.beat(115.0, new_instance=True)
    assert (
        said[-1] == "reconnected to a new gateway instance (resynchronising) after 15 s without it"
    )
    assert not watch.gone
    watch.tick(116.0)
    assert len(said) == 3
