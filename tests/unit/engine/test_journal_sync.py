"""The journal syncer child process: it syncs when the file grows and never outlives the engine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tradewire.engine.journal.sync import JournalSyncer


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # A zombie still answers kill(0); it is gone once its status says so.
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(")")[-1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_syncer_syncs_each_growth_and_once_more_on_stop(tmp_path):
    # Arrange
    path = tmp_path / "j.twj"
    path.write_bytes(b"")
    syncer = JournalSyncer(path, 5.0)
    syncer.start()  # returns after the first sync (size unknown -> 0)

    # Act
    for _ in range(3):
        with path.open("ab") as f:
            f.write(b"x" * 100)
        time.sleep(0.3)  # many intervals: each growth is seen on its own
    syncs = syncer.stop()

    # Assert: the start, three growths; an unchanged file is not synced again.
    assert syncs == 4
    assert not syncer.alive


def test_syncer_exits_when_the_engine_is_killed(tmp_path):
    path = tmp_path / "j.twj"
    path.write_bytes(b"")
    engine = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path;"
            "from tradewire.engine.journal.sync import JournalSyncer;"
            f"s = JournalSyncer(Path({str(path)!r}), 5.0); s.start();"
            "print(s.pid, flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    assert engine.stdout is not None
    syncer_pid = int(engine.stdout.readline())
    os.kill(engine.pid, signal.SIGKILL)
    engine.wait()
    engine.stdout.close()
    assert _wait_gone(syncer_pid, 10), "the syncer outlived the engine"
