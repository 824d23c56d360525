"""Ctrl-C as the normal end of a client program, not a traceback.

``asyncio.run`` turns Ctrl-C into a cancel of the main task and then a ``KeyboardInterrupt``
out of ``asyncio.run`` itself: a program that is documented to run "until Ctrl-C" ends in
two tracebacks. :func:`ctrl_c_calls` lets a long wait (``PolygonClient.run()``) take Ctrl-C
over for its duration, close cleanly and return, but only from Python's own default handling:
a program that installed its own SIGINT handler (``tradewire run``, ``tradewire record``)
keeps it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

_RUNNER_ON_SIGINT = getattr(asyncio.Runner, "_on_sigint", None)


def is_default_sigint(handler: Any) -> bool:
    """Is ``handler`` Python's own Ctrl-C: ``asyncio.run``'s, or the plain KeyboardInterrupt?"""
    if handler is signal.default_int_handler:
        return True
    func = getattr(handler, "func", handler)  # asyncio.Runner installs a functools.partial
    return _RUNNER_ON_SIGINT is not None and getattr(func, "__func__", None) is _RUNNER_ON_SIGINT


@contextlib.contextmanager
def ctrl_c_calls(callback: Callable[[], None]) -> Iterator[bool]:
    """While inside, Ctrl-C calls ``callback`` on the running loop instead of interrupting.

    Yields whether it took Ctrl-C over (main thread, default handling, a loop with signal
    support); the previous handler is put back on the way out.
    """
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not is_default_sigint(previous):
        yield False
        return
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, callback)
    except (NotImplementedError, RuntimeError, ValueError):  # no signals on this loop
        yield False
        return
    try:
        yield True
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        signal.signal(signal.SIGINT, previous)
