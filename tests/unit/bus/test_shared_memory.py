"""The same-machine buses over real shared memory, with workers in real processes where
isolation matters: IoxBus (iceoryx2, the gateway's ``shm://``) and RingBus (the mmap ring
the bench compares it with) pass the same tests."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tradewire.bus.iceoryx import SHM_ROOT, IoxBus
from tradewire.bus.ring import RingBus, ShmRing
from tradewire.errors import TradewireError

# A worker process: joins, says "joined", then either stalls (never reads: blocks on stdin)
# or echoes every tw.md/tw.upd payload's length back on tw.intent.<worker> until told "stop".
WORKER = """
import asyncio, importlib, sys

async def main(kind: str, name: str, worker: str, mode: str, capacity: int) -> None:
    module, cls = kind.split(":")
    Bus = getattr(importlib.import_module(module), cls)
    bus = Bus(name, role="worker", worker=worker, capacity=capacity, max_payload=8192)
    done = asyncio.Event()
    def on_msg(subject: str, payload: bytes) -> None:
        if subject == "tw.ctl" and payload == b"stop":
            done.set()
            return
        ok = payload == bytes([len(payload) % 251]) * len(payload)
        bus.publish("tw.intent." + worker, f"{subject} {len(payload)} {ok}".encode())
    bus.subscribe("tw.md", on_msg)
    bus.subscribe("tw.ctl", on_msg)
    bus.subscribe("tw.upd." + worker, on_msg)
    await bus.start()
    print("joined", flush=True)
    if mode == "stall":
        sys.stdin.readline()
    else:
        await done.wait()
    await bus.close()

asyncio.run(main(*sys.argv[1:5], int(sys.argv[5])))
"""


def frame(n: int) -> bytes:
    """A payload the worker can check: every byte is the length mod 251."""
    return bytes([n % 251]) * n


AnyBus = IoxBus | RingBus
KINDS = {IoxBus: "tradewire.bus.iceoryx:IoxBus", RingBus: "tradewire.bus.ring:RingBus"}


@pytest.fixture(params=[IoxBus, RingBus], ids=["iceoryx2", "ring"])
async def gateway(request: pytest.FixtureRequest) -> AsyncIterator[AnyBus]:
    bus = request.param(f"t{uuid.uuid4().hex[:10]}", role="gateway", capacity=4, max_payload=8192)
    await bus.start()
    yield bus
    await bus.close()


async def spawn(bus: AnyBus, worker: str, mode: str = "echo") -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WORKER,
        KINDS[type(bus)],
        bus.name,
        worker,
        mode,
        "4096",  # asks for more than the gateway's 4: the gateway's buffer is the bound
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    assert line == b"joined\n"
    return proc


async def finish(proc: asyncio.subprocess.Process) -> None:
    if proc.stdin is not None:
        proc.stdin.write(b"\n")
        proc.stdin.close()
    assert await asyncio.wait_for(proc.wait(), 30) == 0


def replies(bus: AnyBus, worker: str) -> list[str]:
    got: list[str] = []
    bus.subscribe(f"tw.intent.{worker}", lambda _s, p: got.append(p.decode()))
    return got


@pytest.mark.timeout(60)
def test_ring_wraps_preserves_order_and_refuses_when_full() -> None:
    fd = os.memfd_create("tw-test-ring")
    writer, reader = ShmRing(fd, 4096, create=True), ShmRing(fd, 4096, create=False)
    os.close(fd)
    sent: list[tuple[str, bytes]] = []
    got: list[tuple[str, bytes]] = []
    for i in range(500):
        msg = (f"s.{i % 7}", frame(i * 13 % 1000))
        assert writer.put(msg[0].encode(), msg[1])
        sent.append(msg)
        if i % 2 == 1:
            reader.drain(got)
    reader.drain(got)
    assert got == sent
    while writer.put(b"x", frame(1000)):
        pass
    assert reader.drain(got) == 3  # 4096 / 1008-byte records; the 4th did not fit
    writer.close()
    reader.close()


@pytest.mark.timeout(60)
async def test_round_trip_in_one_process(gateway: AnyBus, until: Callable[..., Any]) -> None:
    worker = type(gateway)(gateway.name, role="worker", worker="w1", capacity=4, max_payload=8192)
    at_worker: list[tuple[str, bytes]] = []
    at_gateway: list[tuple[str, bytes]] = []
    worker.subscribe("tw.>", lambda s, p: at_worker.append((s, p)))
    gateway.subscribe("tw.intent.w1", lambda s, p: at_gateway.append((s, p)))
    await worker.start()
    assert gateway.workers == ["w1"]
    gateway.publish("tw.md", frame(4096))
    gateway.publish("tw.upd.w1", b"only-w1")
    gateway.publish("tw.upd.nobody", b"lost")
    worker.publish("tw.intent.w1", b"buy")
    await until(lambda: len(at_worker) == 2 and len(at_gateway) == 1)
    assert at_worker == [("tw.md", frame(4096)), ("tw.upd.w1", b"only-w1")]
    assert at_gateway == [("tw.intent.w1", b"buy")]
    assert gateway.dropped == worker.dropped == 0
    await worker.close()
    await until(lambda: gateway.workers == [])


@pytest.mark.timeout(60)
async def test_busy_poll_round_trip(gateway: AnyBus, until: Callable[..., Any]) -> None:
    worker = type(gateway)(
        gateway.name, role="worker", worker="bp", busy_poll=True, max_payload=8192
    )
    got: list[bytes] = []
    worker.subscribe("tw.md", lambda _s, p: got.append(p))
    await worker.start()
    for i in range(100):  # paced: the gateway's buffer (4) bounds what may wait
        gateway.publish("tw.md", frame(i))
        await until(lambda i=i: len(got) == i + 1)
    assert got == [frame(i) for i in range(100)]
    await worker.close()


@pytest.mark.timeout(60)
async def test_gateway_to_worker_process_4k(gateway: AnyBus, until: Callable[..., Any]) -> None:
    got = replies(gateway, "p1")
    proc = await spawn(gateway, "p1")
    gateway.publish("tw.md", frame(4096))
    gateway.publish("tw.upd.p1", frame(100))
    await until(lambda: len(got) == 2, timeout_s=30)
    assert got == ["tw.md 4096 True", "tw.upd.p1 100 True"]
    gateway.publish("tw.ctl", b"stop")
    await finish(proc)
    await until(lambda: gateway.workers == [], timeout_s=30)


@pytest.mark.timeout(60)
async def test_stalled_worker_drops_only_its_own(
    gateway: AnyBus, until: Callable[..., Any]
) -> None:
    stalled = await spawn(gateway, "slow", mode="stall")
    got = replies(gateway, "fast")
    fast = await spawn(gateway, "fast")
    for i in range(200):
        gateway.publish("tw.md", frame(4000 + i))  # returns at once although "slow" is full
        await until(lambda i=i: len(got) == i + 1, timeout_s=30)
    drops = gateway.dropped_by_worker
    assert drops["fast"] == 0
    assert drops["slow"] > 150  # a 32 KiB ring holds 7 of these frames
    assert gateway.dropped == drops["slow"]
    assert got == [f"tw.md {4000 + i} True" for i in range(200)]
    gateway.publish("tw.ctl", b"stop")
    await finish(fast)
    await finish(stalled)


@pytest.mark.timeout(60)
async def test_late_joiner_receives_what_follows(
    gateway: AnyBus, until: Callable[..., Any]
) -> None:
    gateway.publish("tw.md", frame(10))  # nobody there: nothing to deliver, nothing dropped
    got = replies(gateway, "late")
    proc = await spawn(gateway, "late")
    assert gateway.workers == ["late"]
    gateway.publish("tw.md", frame(20))
    await until(lambda: len(got) == 1, timeout_s=30)
    assert got == ["tw.md 20 True"]
    assert gateway.dropped == 0
    gateway.publish("tw.ctl", b"stop")
    await finish(proc)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", [IoxBus, RingBus], ids=["iceoryx2", "ring"])
async def test_close_leaves_nothing_in_dev_shm(
    kind: type[AnyBus], until: Callable[..., Any]
) -> None:
    before = set(os.listdir(SHM_ROOT))
    name = f"t{uuid.uuid4().hex[:10]}"
    gateway = kind(name, role="gateway")
    await gateway.start()
    worker = kind(name, role="worker", worker="w")
    await worker.start()
    assert (SHM_ROOT / f"tradewire-{name}").is_dir()
    await worker.close()
    await until(lambda: gateway.workers == [])
    await gateway.close()
    await gateway.close()  # idempotent
    assert set(os.listdir(SHM_ROOT)) - before == set()


@pytest.mark.timeout(60)
async def test_worker_without_gateway_and_duplicate_names_fail(gateway: AnyBus) -> None:
    kind = type(gateway)
    with pytest.raises(TradewireError):
        await kind(f"t{uuid.uuid4().hex[:10]}", role="worker", worker="w").start()
    first = kind(gateway.name, role="worker", worker="dup")
    await first.start()
    with pytest.raises(TradewireError):
        await kind(gateway.name, role="worker", worker="dup").start()
    with pytest.raises(TradewireError):
        await kind(gateway.name, role="gateway").start()
    await first.close()
    assert json.dumps(gateway.dropped_by_worker)


def iox_services(prefix: str) -> list[str]:
    """The iceoryx2 services that exist now whose names start with ``prefix``."""
    import iceoryx2 as iox

    found = iox.Service.list(iox.config.global_config(), iox.ServiceType.Ipc)
    return sorted(n for d in found if (n := d.name().to_string()).startswith(prefix))


@pytest.mark.timeout(60)
async def test_shm_is_iceoryx2_with_a_fresh_session_per_join(until: Callable[..., Any]) -> None:
    name = f"t{uuid.uuid4().hex[:10]}"
    gateway = IoxBus(name, role="gateway", max_payload=65536)
    await gateway.start()
    got: list[bytes] = []
    worker = IoxBus(name, role="worker", worker="w", max_payload=65536)
    worker.subscribe("tw.md", lambda _s, p: got.append(p))
    await worker.start()
    first = iox_services(f"tradewire/{name}/w/")
    assert len(first) == 4  # down, down-ev, up, up-ev of this session
    # Frames larger than the first sample size make the publisher grow its segment.
    for n in (10, 9000, 65536):
        gateway.publish("tw.md", frame(n))
    await until(lambda: len(got) == 3)
    assert got == [frame(10), frame(9000), frame(65536)]
    await worker.close()
    await until(lambda: gateway.workers == [])
    again = IoxBus(name, role="worker", worker="w")
    await again.start()
    second = iox_services(f"tradewire/{name}/w/")
    assert len(second) == 4
    assert not set(first) & set(second)
    await again.close()
    await until(lambda: gateway.workers == [])
    await gateway.close()
    assert iox_services(f"tradewire/{name}/") == []


@pytest.mark.timeout(60)
async def test_a_killed_worker_is_cleaned_up_and_its_name_joins_again(
    until: Callable[..., Any],
) -> None:
    name = f"t{uuid.uuid4().hex[:10]}"
    gateway = IoxBus(name, role="gateway", capacity=4, max_payload=8192)
    await gateway.start()
    try:
        proc = await spawn(gateway, "phoenix", mode="stall")
        dead = iox_services(f"tradewire/{name}/phoenix/")
        assert len(dead) == 4
        proc.kill()
        await proc.wait()
        await until(lambda: gateway.workers == [])
        # The dead process's iceoryx2 node and its services are gone, not left to fill.
        await until(lambda: not set(dead) & set(iox_services(f"tradewire/{name}/")))
        got = replies(gateway, "phoenix")
        back = await spawn(gateway, "phoenix")
        gateway.publish("tw.md", frame(100))
        await until(lambda: got == ["tw.md 100 True"], timeout_s=30)
        assert gateway.dropped == 0
        gateway.publish("tw.ctl", b"stop")
        await finish(back)
    finally:
        await gateway.close()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", [IoxBus, RingBus], ids=["iceoryx2", "ring"])
async def test_a_busy_polling_gateway_takes_every_intent(
    kind: type[AnyBus], until: Callable[..., Any]
) -> None:
    gateway = kind(f"t{uuid.uuid4().hex[:10]}", role="gateway", busy_poll=True)
    await gateway.start()
    got = replies(gateway, "w")
    worker = kind(gateway.name, role="worker", worker="w")
    try:
        await worker.start()
        for i in range(50):
            worker.publish("tw.intent.w", f"intent {i}".encode())
        await until(lambda: len(got) == 50)
        assert got == [f"intent {i}" for i in range(50)]
    finally:
        await worker.close()
        await gateway.close()


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("gateway_kind", "worker_kind"), [(IoxBus, RingBus), (RingBus, IoxBus)])
async def test_a_worker_on_the_other_transport_is_refused_with_the_reason(
    gateway_kind: type[AnyBus], worker_kind: type[AnyBus], until: Callable[..., Any]
) -> None:
    gateway = gateway_kind(f"t{uuid.uuid4().hex[:10]}", role="gateway")
    await gateway.start()
    try:
        worker = worker_kind(gateway.name, role="worker", worker="w")
        with pytest.raises(TradewireError, match="TRADEWIRE_SHM_TRANSPORT"):
            await worker.start()
        await until(lambda: gateway.workers == [])
        same = gateway_kind(gateway.name, role="worker", worker="w")  # the name is free
        await same.start()
        assert gateway.workers == ["w"]
        await same.close()
    finally:
        await gateway.close()


def test_shm_urls_pick_the_ring_unless_iceoryx2_is_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tradewire.app.buses import SHM_TRANSPORT_ENV, make_bus
    from tradewire.errors import ConfigError

    monkeypatch.delenv(SHM_TRANSPORT_ENV, raising=False)
    assert type(make_bus("shm://desk", role="gateway")) is RingBus
    monkeypatch.setenv(SHM_TRANSPORT_ENV, "iceoryx2")
    assert type(make_bus("shm://desk", role="gateway")) is IoxBus
    monkeypatch.setenv(SHM_TRANSPORT_ENV, "zmq")
    with pytest.raises(ConfigError, match="ring or iceoryx2"):
        make_bus("shm://desk", role="gateway")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", [IoxBus, RingBus], ids=["iceoryx2", "ring"])
async def test_the_gateways_buffer_is_a_number_of_messages_on_both_transports(
    kind: type[AnyBus], until: Callable[..., Any]
) -> None:
    """gateway.buffer says "messages buffered per worker": 4 small frames wait, the 5th and
    later are dropped and counted, until the worker reads."""
    gateway = kind(f"t{uuid.uuid4().hex[:10]}", role="gateway", capacity=4)
    await gateway.start()
    worker = kind(gateway.name, role="worker", worker="w", capacity=4096)
    got: list[bytes] = []
    worker.subscribe("tw.md", lambda _s, p: got.append(p))
    try:
        await worker.start()
        for i in range(10):  # no await: the worker's loop cannot read in between
            gateway.publish("tw.md", frame(10 + i))
        assert gateway.dropped_by_worker == {"w": 6}
        await until(lambda: len(got) == 4)
        assert got == [frame(10 + i) for i in range(4)]
        gateway.publish("tw.md", frame(99))  # room again once read
        await until(lambda: len(got) == 5)
        assert gateway.dropped == 6
    finally:
        await worker.close()
        await gateway.close()
