"""Run the venue simulator in its own process and find out where it listens.

``tradewire run`` without credentials and ``tradewire bench`` both need the simulator on
another core, not on the engine's loop, so that its work never shows up as engine latency.
The child prints one ready line, ``tradewire sim ready feed=<ws url> broker=<http url>
rest=<http url>`` (``rest=``, Massive's REST API, is last and optional: a line without it
still parses); this module starts it, waits for that line and stops the child cleanly.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from tradewire.errors import TradewireError

_READY = re.compile(rb"tradewire sim ready feed=(\S+) broker=(\S+)(?: rest=(\S+))?")


class SimulatorStartError(TradewireError):
    """The simulator process exited or stayed silent before it was ready."""


def own_group_dying_with_parent() -> None:
    """In the child, before exec: a process group of its own (uvloop takes no
    ``process_group``), and SIGTERM when the parent dies (Linux ``PR_SET_PDEATHSIG``)."""
    os.setpgid(0, 0)
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM))


async def interrupt(proc: asyncio.subprocess.Process, timeout_s: float) -> None:
    """SIGINT (a clean stop: summaries written, journals closed), then SIGKILL if it hangs."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(timeout_s):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()


@dataclass(slots=True)
class SimProcess:
    """A ``tradewire sim`` child process. Use as ``async with SimProcess(args) as sim``."""

    args: Sequence[str] = ()
    startup_timeout_s: float = 20.0
    feed_url: str = ""
    broker_url: str = ""
    rest_url: str = ""
    """Massive's REST API (options chain snapshot, contracts); "" if the child has none."""
    output: list[str] = field(default_factory=list)
    _proc: asyncio.subprocess.Process | None = None
    _drain: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def stream_url(self) -> str:
        return self.broker_url.replace("http://", "ws://", 1) + "/stream"

    async def start(self) -> None:
        cmd = [sys.executable, "-m", "tradewire.app.cli", "sim", *self.args]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._proc = await asyncio.create_subprocess_exec(
            *cmd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            env=env,
            # Its own process group: a terminal's Ctrl-C reaches the whole foreground group,
            # and the simulator must keep serving while the engine cancels its orders; the
            # engine stops it afterwards. Dying with the engine keeps a SIGKILL from
            # orphaning it.
            preexec_fn=own_group_dying_with_parent,
        )
        assert self._proc.stdout is not None
        try:
            async with asyncio.timeout(self.startup_timeout_s):
                while True:
                    line = await self._proc.stdout.readline()
                    if not line:
                        code = await self._proc.wait()
                        raise SimulatorStartError(
                            f"simulator exited with code {code} before it was ready:\n"
                            + "".join(self.output[-20:])
                        )
                    self.output.append(line.decode(errors="replace"))
                    match = _READY.search(line)
                    if match:
                        self.feed_url = match.group(1).decode()
                        self.broker_url = match.group(2).decode()
                        self.rest_url = (match.group(3) or b"").decode()
                        break
        except TimeoutError:
            await self.stop()
            raise SimulatorStartError(
                f"simulator not ready after {self.startup_timeout_s:.0f}s:\n"
                + "".join(self.output[-20:])
            ) from None
        self._drain = asyncio.get_running_loop().create_task(self._drain_output())

    async def _drain_output(self) -> None:
        # Keep reading so the child never blocks on a full pipe; keep the tail for errors.
        assert self._proc is not None
        assert self._proc.stdout is not None
        while line := await self._proc.stdout.readline():
            self.output.append(line.decode(errors="replace"))
            del self.output[:-200]

    async def stop(self, timeout_s: float = 10.0) -> int | None:
        proc = self._proc
        if proc is None:
            return None
        await interrupt(proc, timeout_s)
        if self._drain is not None:
            await asyncio.gather(self._drain, return_exceptions=True)
        return proc.returncode

    async def __aenter__(self) -> SimProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
