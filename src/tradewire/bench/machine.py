"""The machine's own baseline, measured in the same run as the contenders.

On this shared VM the same code measured 4× apart on two days; a bench figure means little
without the day's floor beside it. So ``tradewire bench`` first measures, in a few seconds:
a TCP ping-pong over loopback between two pinned processes (blocking, then both sides
busy-polling), the cost of a system call (``getppid``, a 1-byte ``write`` to /dev/null, a
120-byte ``write`` to a file the size of a journal record), a pure-Python loop, and the
same small function called back to back and after 5 ms of idleness (the "cold" penalty
that sparse triggers pay on a virtual CPU). All from Python: the C floor contender is the
kernel-only reference.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

_ECHO = r"""
import os, socket, sys
busy = sys.argv[1] == "busy"
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept(); conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
if busy: conn.setblocking(False)
while True:
    try:
        data = conn.recv(64)
    except BlockingIOError:
        continue
    if not data:
        break
    conn.sendall(data)
"""


def _quantiles(ns: list[int]) -> dict[str, float]:
    ns = sorted(ns)
    return {
        "p50_us": round(ns[len(ns) // 2] / 1000, 2),
        "p99_us": round(ns[min(len(ns) - 1, int(len(ns) * 0.99))] / 1000, 2),
    }


def pingpong(n: int = 2000, *, busy: bool = False) -> dict[str, float]:
    """Round trips of 64 bytes over loopback TCP, echo process on CPU 0, this one on CPU 1."""
    child = subprocess.Popen(
        [sys.executable, "-c", _ECHO, "busy" if busy else "block"],
        stdout=subprocess.PIPE,
        text=True,
    )
    mine = os.sched_getaffinity(0)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        cpus = sorted(mine)
        if len(cpus) >= 2:
            os.sched_setaffinity(child.pid, {cpus[0]})
            os.sched_setaffinity(0, {cpus[1]})
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if busy:
            sock.setblocking(False)
        msg, out = b"x" * 64, []
        for i in range(n + 200):
            t0 = time.perf_counter_ns()
            sock.sendall(msg)
            got = 0
            while got < 64:
                try:
                    got += len(sock.recv(64 - got))
                except BlockingIOError:
                    continue
            if i >= 200:  # warm-up
                out.append(time.perf_counter_ns() - t0)
        sock.close()
        return _quantiles(out)
    finally:
        os.sched_setaffinity(0, mine)
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


def _per_call_ns(fn: Callable[[], object], n: int) -> float:
    t0 = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return (time.perf_counter_ns() - t0) / n


def syscalls() -> dict[str, float]:
    devnull = os.open(os.devnull, os.O_WRONLY)
    with tempfile.TemporaryDirectory(prefix="tradewire-machine-") as tmp:
        fd = os.open(os.path.join(tmp, "j"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        record = b"r" * 120
        try:
            return {
                "getppid_ns": round(_per_call_ns(os.getppid, 100_000)),
                "write_devnull_ns": round(_per_call_ns(lambda: os.write(devnull, b"x"), 100_000)),
                "write_120b_file_ns": round(_per_call_ns(lambda: os.write(fd, record), 20_000)),
            }
        finally:
            os.close(fd)
            os.close(devnull)


def _small(x: int) -> int:
    total = 0
    for i in range(20):
        total += (x * i) % 7
    return total


def interpreter() -> dict[str, Any]:
    """A pure-Python loop (is the CPU slow today?) and the cold-call penalty."""
    loop_us = _per_call_ns(lambda: sum(range(1000)), 2000) / 1000
    warm, cold = [], []
    for i in range(300):
        t0 = time.perf_counter_ns()
        _small(i)
        warm.append(time.perf_counter_ns() - t0)
    for i in range(100):
        time.sleep(0.005)
        t0 = time.perf_counter_ns()
        _small(i)
        cold.append(time.perf_counter_ns() - t0)
    return {
        "sum_range_1000_us": round(loop_us, 2),
        "call_back_to_back": _quantiles(warm),
        "call_after_5ms_idle": _quantiles(cold),
    }


def measure(*, quick: bool = False) -> dict[str, Any]:
    n = 300 if quick else 2000
    return {
        "loopback_rtt_blocking": pingpong(n),
        "loopback_rtt_busy": pingpong(n, busy=True),
        **syscalls(),
        **interpreter(),
    }


def report_lines(m: dict[str, Any]) -> list[str]:
    b, p = m["loopback_rtt_blocking"], m["loopback_rtt_busy"]
    w, c = m["call_back_to_back"], m["call_after_5ms_idle"]
    return [
        "machine (same run, from Python): loopback TCP round trip p50/p99 "
        f"{b['p50_us']:.1f}/{b['p99_us']:.1f} µs blocking, {p['p50_us']:.1f}/{p['p99_us']:.1f} busy-poll;",
        f"  getppid {m['getppid_ns']} ns, write(/dev/null) {m['write_devnull_ns']} ns, "
        f"120 B file write {m['write_120b_file_ns']} ns; sum(range(1000)) {m['sum_range_1000_us']:.1f} µs;",
        f"  a small function: {w['p50_us']:.2f} µs back to back, {c['p50_us']:.2f} µs "
        f"(p99 {c['p99_us']:.2f}) after 5 ms idle — the cold penalty sparse triggers pay",
    ]
