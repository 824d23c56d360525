"""Make the journal durable from a separate process, never from the engine's.

``fsync: batch`` promises a record reaches the disk within ``fsync_interval_ms`` of being
written. ``fdatasync`` blocks for 0.1 ms typically and several ms under load on these disks.
On the loop it stalled tick-to-trade; in a thread of the engine it was worse, because the
thread's GIL handoffs stalled a busy-polling loop for up to the 5 ms switch interval (bench:
p99 3,963 µs with the thread, 45 µs with no fsync at all). ``fsync`` on any descriptor of a
file flushes that file, so a child process that opens the journal and syncs it whenever it
grew keeps the promise with no GIL and no syscall on the engine's side.

The child reads its stdin: end-of-file means the engine is gone (closed or killed), and it
syncs once more and exits, so even records written just before a crash are flushed.

Run as ``python -m tradewire.engine.journal.sync PATH INTERVAL_MS``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)


class JournalSyncer:
    """The child process; :meth:`stop` makes it sync a last time and exit."""

    def __init__(self, path: Path, interval_ms: float, *, cpus: set[int] | None = None) -> None:
        self.path = path
        self.interval_ms = interval_ms
        self.cpus = cpus
        self._proc: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"JournalSyncer(path={str(self.path)!r}, pid={self.pid})"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        self._proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [
                sys.executable,
                "-m",
                "tradewire.engine.journal.sync",
                str(self.path),
                str(self.interval_ms),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Not in the terminal's foreground group: Ctrl-C is for the engine, which ends
            # this child itself (stdin EOF) once the last record is written.
            process_group=0,
        )
        if self.cpus:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(self._proc.pid, self.cpus)
        # Wait for its first sync, so "started" means records are being made durable (a
        # loaded machine can take longer than a sync interval to start a Python process).
        assert self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], 10.0)
        line = self._proc.stdout.readline() if ready else b""
        if not line.startswith(b"journal-sync ready"):
            self._proc.kill()
            self._proc.wait()
            self._proc = None
            raise OSError(f"journal syncer did not start: {line.decode(errors='replace')!r}")

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self, timeout_s: float = 5.0) -> int:
        """End the child after a final sync; returns how many syncs it made."""
        proc = self._proc
        if proc is None:
            return 0
        try:
            out, _ = proc.communicate(input=b"", timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        self._proc = None
        text = out.decode(errors="replace").strip()
        try:
            return int(text.rsplit(" ", 1)[-1])
        except ValueError:
            log.error("journal syncer ended without its count: %r", text[-500:])
            return 0


def serve(path: Path, interval_ms: float) -> int:
    """The child's loop: every interval, fdatasync if the file changed; exit on stdin EOF."""
    # Only the engine decides when the journal is finished; a stray SIGINT must not end
    # the syncs early.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fd = os.open(path, os.O_RDONLY)
    last_size = -1
    syncs = 0
    stdin = sys.stdin.fileno()
    timeout = max(interval_ms, 0.1) / 1000
    try:
        while True:
            readable, _, _ = select.select([stdin], [], [], timeout)
            gone = bool(readable) and not os.read(stdin, 4096)
            size = os.fstat(fd).st_size
            with contextlib.suppress(OSError):
                if os.stat(path).st_ino != os.fstat(fd).st_ino:
                    # The engine started a new segment: finish the old one, follow the new.
                    os.fdatasync(fd)
                    os.close(fd)
                    fd = os.open(path, os.O_RDONLY)
                    size = os.fstat(fd).st_size
                    last_size = -1
            if size != last_size:
                os.fdatasync(fd)
                syncs += 1
                last_size = size
                if syncs == 1:
                    print("journal-sync ready", flush=True)
            if gone:
                break
    finally:
        os.close(fd)
    print(f"journal-sync syncs {syncs}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(serve(Path(sys.argv[1]), float(sys.argv[2])))
