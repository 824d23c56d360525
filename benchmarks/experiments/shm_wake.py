"""What the gateway pays per market frame for wake-ups a worker cannot block:
``python benchmarks/experiments/shm_wake.py``.

The gateway's publish over N worker rings, two ways in one process, alternating rounds:
``eventfd`` (the old path: ring put + ``eventfd_write`` on a shared eventfd) and ``socket``
(the path now: ring put + ``write`` on the gateway's own non-blocking end of a datagram
socket pair, :mod:`tradewire.bus.shm_wake`). Timed in batches of 8 frames; between batches
(untimed) each ring is drained, and, when the reader "keeps up", its wake-ups are read too,
as a worker does on each wake. "Lagging" never reads the wake-ups: the socket's queue fills
and every send after ~270 is the EAGAIN path (skipped, counted). Best of ``--rounds``.
Reported, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from collections.abc import Callable
from typing import Any

from tradewire.bus.ring import ShmRing, ring_bytes
from tradewire.bus.shm_wake import Waker, WakeReader, wake_pair

BATCH = 8


class _Rig:
    """N rings, each with a wake-up of one kind; ``publish`` is the gateway's loop body."""

    def __init__(self, kind: str, n: int) -> None:
        size = ring_bytes(16, 8192)
        self.rings = [ShmRing(os.memfd_create("bench"), size, create=True) for _ in range(n)]
        self.kind = kind
        self.efds = [os.eventfd(0, os.EFD_NONBLOCK) for _ in range(n)]
        pairs = [wake_pair() for _ in range(n)]
        self.wakers = [Waker(keep) for keep, _ in pairs]
        self.readers = [WakeReader(give) for _, give in pairs]

    def publish_fn(self) -> Callable[[bytes, bytes], None]:
        if self.kind == "eventfd":
            targets_e = list(zip(self.rings, self.efds, strict=True))
            write = os.eventfd_write

            def publish_e(subject: bytes, payload: bytes) -> None:
                for ring, efd in targets_e:
                    if ring.put(subject, payload) and not ring.busy_poll:
                        write(efd, 1)

            return publish_e
        targets_s = list(zip(self.rings, self.wakers, strict=True))

        def publish_s(subject: bytes, payload: bytes) -> None:
            for ring, waker in targets_s:
                if ring.put(subject, payload) and not ring.busy_poll:
                    waker.wake()

        return publish_s

    def read(self, wakes: bool) -> None:
        """The workers' side, untimed: drain each ring and (``wakes``) its wake-ups."""
        sink: list[tuple[str, bytes]] = []
        for i, ring in enumerate(self.rings):
            ring.drain(sink)
            sink.clear()
            if not wakes:
                continue
            if self.kind == "eventfd":
                with contextlib.suppress(BlockingIOError):
                    os.eventfd_read(self.efds[i])
            else:
                self.readers[i].clear()  # a worker drains every pending datagram on a wake

    def close(self) -> None:
        for ring in self.rings:
            ring.close()
        for fd in self.efds:
            os.close(fd)
        for w in self.wakers:
            w.close()
        for r in self.readers:
            r.close()


def _round(kind: str, n: int, frames: int, keeps_up: bool) -> float:
    """ns per frame published to ``n`` rings."""
    rig = _Rig(kind, n)
    publish, payload, subject = rig.publish_fn(), b"q" * 200, b"tw.md"
    total = 0
    try:
        for _ in range(frames // BATCH):
            t0 = time.perf_counter_ns()
            for _ in range(BATCH):
                publish(subject, payload)
            total += time.perf_counter_ns() - t0
            rig.read(keeps_up)
    finally:
        rig.close()
    return total / (frames // BATCH * BATCH)


def run(frames: int, rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for keeps_up in (True, False):
        for n in (1, 8):
            best = {"eventfd": float("inf"), "socket": float("inf")}
            for r in range(rounds):
                order = ("eventfd", "socket") if r % 2 == 0 else ("socket", "eventfd")
                for kind in order:
                    best[kind] = min(best[kind], _round(kind, n, frames, keeps_up))
            key = f"{'keeps_up' if keeps_up else 'lagging'}/{n}_rings"
            results[key] = {k: round(v / 1000, 3) for k, v in best.items()} | {
                "extra_us": round((best["socket"] - best["eventfd"]) / 1000, 3)
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(run(args.frames, args.rounds), indent=2))


if __name__ == "__main__":
    main()
