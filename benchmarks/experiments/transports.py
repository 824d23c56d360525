"""Gateway→worker transports measured before choosing one: ``python benchmarks/experiments/transports.py``.

An experiment, not part of ``tradewire bench`` or the wheel: run it from a checkout with tradewire
installed (or ``PYTHONPATH=src``), iceoryx2 and pyzmq from ``pip install 'tradewire[transports]'``.

Contenders: the mmap ring + eventfd (:class:`tradewire.bus.ring.RingBus`), iceoryx2 as the
gateway uses it (:class:`tradewire.bus.iceoryx.IoxBus`: one ``Slice[c_uint8]`` sample per frame
plus an Event service whose listener socket wakes the loop), and pyzmq PUB/SUB + PUSH/PULL
over ``ipc://``. Each run is one sender
process and its receivers (multiprocessing ``spawn``), pinned to different CPUs when there
are two. Latency is open loop at a fixed rate (queueing does not hide the per-message
cost), stamped with ``perf_counter_ns`` (CLOCK_MONOTONIC, shared by processes on one
machine); round trip and throughput are closed loop (throughput with a credit window so no
transport drops). The numbers are reported, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import multiprocessing as mp
import os
import struct
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any, Literal

from hdrh.histogram import HdrHistogram

from tradewire.bus.iceoryx import IoxBus
from tradewire.bus.ring import RingBus

HDR = struct.Struct("<QBI")  # stamp ns, kind, seq / count
DATA, PROBE, STOP, READY, ACK, ECHO = range(6)
WINDOW, ACK_EVERY, REPLY_SIZE = 512, 64, 200
Cb = Callable[[bytes], None]


class BusEnd:
    """One of our same-machine buses as the gateway (``idx`` None) or worker ``idx``."""

    kind: type[RingBus] | type[IoxBus] = RingBus

    def __init__(self, tag: str, idx: int | None, busy: bool, cb: Cb) -> None:
        role: Literal["gateway", "worker"] = "gateway" if idx is None else "worker"
        worker = None if idx is None else f"w{idx}"
        self.bus = self.kind(tag, role=role, worker=worker, busy_poll=busy)
        self.up = f"tw.intent.w{idx}"
        self.bus.subscribe("tw.md" if idx is not None else "tw.intent.>", lambda _s, p: cb(p))

    async def start(self) -> None:
        await self.bus.start()

    def send(self, b: bytes) -> None:
        self.bus.publish("tw.md" if self.bus.role == "gateway" else self.up, b)

    async def close(self) -> None:
        await self.bus.close()


class RingEnd(BusEnd):
    kind = RingBus


class IoxEnd(BusEnd):
    kind = IoxBus


class ZmqEnd:
    """PUB/SUB for frames, PUSH/PULL for replies, woken by the socket's edge-triggered FD."""

    def __init__(self, tag: str, idx: int | None, busy: bool, cb: Cb) -> None:
        import zmq

        self.zmq, self.cb, self.busy = zmq, cb, busy
        self.ctx = zmq.Context()
        base = f"ipc://{tempfile.gettempdir()}/tw-bench-{tag}"
        gw = idx is None
        self.out = self.ctx.socket(zmq.PUB if gw else zmq.PUSH)
        self.inp = self.ctx.socket(zmq.PULL if gw else zmq.SUB)
        self.out.setsockopt(zmq.SNDHWM, 4096)
        self.inp.setsockopt(zmq.RCVHWM, 4096)
        if gw:
            self.out.bind(base + "-md")
            self.inp.bind(base + "-up")
        else:
            self.inp.setsockopt(zmq.SUBSCRIBE, b"")
            self.inp.connect(base + "-md")
            self.out.connect(base + "-up")
        self.fd = int(self.inp.getsockopt(zmq.FD))
        self.task: asyncio.Task[None] | None = None

    def drain(self) -> int:
        n, zmq = 0, self.zmq
        while self.inp.getsockopt(zmq.EVENTS) & zmq.POLLIN:
            self.cb(self.inp.recv(zmq.NOBLOCK))
            n += 1
        return n

    async def spin(self) -> None:
        while True:
            if not self.drain():
                await asyncio.sleep(0)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.busy:
            self.task = loop.create_task(self.spin())
        else:
            loop.add_reader(self.fd, self.drain)
            self.drain()

    def send(self, b: bytes) -> None:
        with contextlib.suppress(self.zmq.Again):
            self.out.send(b, self.zmq.NOBLOCK)
        self.drain()  # sending can consume the edge of the FD shared by the context

    async def close(self) -> None:
        if self.task:
            self.task.cancel()
        else:
            asyncio.get_running_loop().remove_reader(self.fd)
        self.ctx.destroy(linger=0)


TRANSPORTS: dict[str, type[BusEnd] | type[ZmqEnd]] = {
    "shm-ring": RingEnd,
    "iceoryx2": IoxEnd,
    "zmq-ipc": ZmqEnd,
}


def available() -> list[str]:
    mods = {"shm-ring": "tradewire", "iceoryx2": "iceoryx2", "zmq-ipc": "zmq"}
    return [t for t in TRANSPORTS if importlib.util.find_spec(mods[t]) is not None]


def pin(cpu: int) -> None:
    """Sender on CPU 0, receivers on CPU 1, when the machine has two to give."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2:
        os.sched_setaffinity(0, {cpus[cpu]})


def summary(h: HdrHistogram) -> dict[str, float]:
    q = {f"p{p:g}": h.get_value_at_percentile(p) / 1000 for p in (50, 90, 99, 99.9)}
    return {**q, "max": h.get_max_value() / 1000, "n": h.get_total_count()}


async def sender(t: str, tag: str, mode: str, n_rx: int, args: argparse.Namespace, q: Any) -> None:
    pin(0)
    ready: set[int] = set()
    acks = [0] * n_rx
    rtt: list[asyncio.Future[int]] = []

    def on_reply(b: bytes) -> None:
        stamp, kind, val = HDR.unpack_from(b)
        if kind == READY:
            ready.add(val)
        elif kind == ACK:
            acks[val >> 24] = val & 0xFFFFFF
        elif kind == ECHO and rtt and not rtt[-1].done():
            rtt[-1].set_result(time.perf_counter_ns() - stamp)

    end = TRANSPORTS[t](tag, None, False, on_reply)
    await end.start()
    q.put("ready")
    pad = bytes(args.size - HDR.size)
    while len(ready) < n_rx:  # late joiners (PUB/SUB, discovery) see a probe eventually
        end.send(HDR.pack(0, PROBE, 0) + pad)
        await asyncio.sleep(0.002)
    await asyncio.sleep(0.05)
    result: dict[str, Any] = {}
    if mode in ("lat", "busy"):
        period = 1_000_000_000 // args.rate
        t0 = time.perf_counter_ns()
        for i in range(args.frames):
            due = t0 + i * period
            while (now := time.perf_counter_ns()) < due:
                pass
            end.send(HDR.pack(now if i >= args.frames // 10 else 0, DATA, i) + pad)
    elif mode == "rtt":
        h = HdrHistogram(1, 10_000_000_000, 3)
        for i in range(args.frames // 2):
            rtt.append(asyncio.get_running_loop().create_future())
            end.send(HDR.pack(time.perf_counter_ns(), DATA, i) + pad)
            h.record_value(await rtt[-1])
            rtt.clear()
        result = summary(h)
    else:
        total = args.frames // ACK_EVERY * ACK_EVERY
        t0 = time.perf_counter_ns()
        sent = 0
        while min(acks) < total:
            if sent < total and sent - min(acks) < WINDOW:
                end.send(HDR.pack(0, DATA, sent) + pad)
                sent += 1
                if sent % ACK_EVERY:
                    continue
            await asyncio.sleep(0)
        result = {"frames_per_s": total * 1e9 / (time.perf_counter_ns() - t0)}
    for _ in range(3):
        end.send(HDR.pack(0, STOP, 0) + pad)
    q.put(("sender", result))
    await asyncio.sleep(0.2)
    await end.close()


async def receiver(t: str, tag: str, mode: str, idx: int, q: Any) -> None:
    pin(1)
    h = HdrHistogram(1, 10_000_000_000, 3)
    done = asyncio.Event()
    state = {"count": 0, "ready": False}
    reply_pad = bytes(REPLY_SIZE - HDR.size)

    def on_frame(b: bytes) -> None:
        stamp, kind, _seq = HDR.unpack_from(b)
        if kind == DATA:
            if mode in ("lat", "busy"):
                if stamp:  # the first tenth (stamp 0) warms caches and the loop
                    h.record_value(max(1, time.perf_counter_ns() - stamp))
            elif mode == "rtt":
                end.send(HDR.pack(stamp, ECHO, idx) + reply_pad)
            else:
                state["count"] += 1
                if state["count"] % ACK_EVERY == 0:
                    end.send(HDR.pack(0, ACK, idx << 24 | state["count"]) + reply_pad)
        elif kind == PROBE and not state["ready"]:
            state["ready"] = True
            end.send(HDR.pack(0, READY, idx) + reply_pad)
        elif kind == STOP:
            done.set()

    end = TRANSPORTS[t](tag, idx, mode == "busy", on_frame)
    await end.start()
    await done.wait()
    q.put((f"rx{idx}", summary(h) if mode in ("lat", "busy") else {}))
    await end.close()


def _run_sender(*a: Any) -> None:
    asyncio.run(sender(*a))


def _run_receiver(*a: Any) -> None:
    asyncio.run(receiver(*a))


def run_one(t: str, mode: str, n_rx: int, args: argparse.Namespace) -> dict[str, Any]:
    """One sender and ``n_rx`` receivers of transport ``t``, each in its own process."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    tag = uuid.uuid4().hex[:10]
    procs = [ctx.Process(target=_run_sender, args=(t, tag, mode, n_rx, args, q))]
    procs[0].start()
    if q.get(timeout=60) != "ready":
        raise RuntimeError("sender did not start")
    for i in range(n_rx):
        procs.append(ctx.Process(target=_run_receiver, args=(t, tag, mode, i, q)))
        procs[-1].start()
    results = dict(q.get(timeout=300) for _ in range(n_rx + 1))
    for p in procs:
        p.join(30)
        if p.is_alive():
            p.kill()
    if mode in ("lat", "busy"):
        return dict(results["rx0"])
    return dict(results["sender"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("--frames", type=int, default=20000)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--rate", type=int, default=10000, help="open-loop frames/s for latency")
    ap.add_argument("--transports", default=",".join(available()))
    ap.add_argument("--json", dest="json_out")
    args = ap.parse_args(argv)
    out: dict[str, Any] = {
        "size": args.size,
        "frames": args.frames,
        "rate": args.rate,
        "cpus": len(os.sched_getaffinity(0)),
        "results": {},
    }
    cols = ("p50", "p90", "p99", "p99.9", "max")
    print(f"{args.size} B frames, {args.frames} frames, latency open loop at {args.rate}/s (µs)")
    print(
        f"{'transport':10} {'test':14} " + " ".join(f"{c:>8}" for c in cols) + f" {'frames/s':>10}"
    )
    for t in args.transports.split(","):
        res: dict[str, Any] = {}
        for label, mode, n in (
            ("oneway-fd", "lat", 1),
            ("oneway-busy", "busy", 1),
            ("roundtrip", "rtt", 1),
            ("tput-1rx", "tput", 1),
            ("tput-4rx", "tput", 4),
        ):
            r = res[label] = run_one(t, mode, n, args)
            nums = " ".join(f"{r[c]:8.1f}" if c in r else f"{'':8}" for c in cols)
            fps = f"{r['frames_per_s']:10.0f}" if "frames_per_s" in r else ""
            print(f"{t:10} {label:14} {nums} {fps}", flush=True)
        out["results"][t] = res
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
