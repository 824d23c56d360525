"""shm:// over iceoryx2 (``TRADEWIRE_SHM_TRANSPORT=iceoryx2``): one gateway, N workers.

Why it is not the default
-------------------------
``benchmarks/experiments/transports.py`` compared iceoryx2 0.10 (Python binding), a plain
mmap ring + eventfd (:mod:`tradewire.bus.ring`) and pyzmq over ``ipc://``. Raw, iceoryx2
led on one-way latency and throughput; as our buses, the two tie at p50 one way (23 µs),
iceoryx2 with the better tails and throughput, the ring with the better round trip. End
to end through a gateway (``tradewire bench --quick``, same session, alternating), the ring
won: one worker p50 347/414 µs vs 487/682, eight workers 3.7/1.7 ms vs 10.8/3.1 ms
(docs/performance.md, issue 13). So ``shm://`` is the ring and this bus is opt-in.

Design
------
* Per worker and direction, one iceoryx2 publish-subscribe service of ``Slice[c_uint8]``
  (one sample = one whole feed frame or one intent, never one event: the binding costs
  ~4 µs per sample) and one Event service to wake the reader. Their names carry a fresh
  session id per join, so a worker that died and comes back under the same name never
  meets its dead predecessor's ports; dead nodes' resources are cleaned on every join and
  leave (``try_cleanup_dead_nodes``).
* The worker creates the services with the buffer agreed at its join (the gateway's
  ``capacity``, or less if the worker asks for less) as the subscriber's bound, ``enable_safe_overflow(False)`` and the publisher's
  ``DiscardData`` backpressure: a full worker makes ``send`` return 0 receivers, which is
  counted as that worker's drop; the gateway never blocks and never overwrites.
* The registry, liveness and wake-up are :mod:`tradewire.bus.shm_registry`'s. iceoryx2's
  Python ``Listener`` does not expose its socket; :func:`_listener_fd` finds it as the unix
  socket that creating the listener opened, and proves it with one notification.
* Sample: ``u16 subject length, subject, payload``.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import select
import struct
import uuid
from typing import Any

from tradewire.bus.shm_registry import DIRECT_PREFIX, SHM_ROOT, RegistryBus
from tradewire.errors import TradewireError

__all__ = ["DIRECT_PREFIX", "SHM_ROOT", "IoxBus"]

log = logging.getLogger(__name__)
_SUBJ = struct.Struct("<H")
_INITIAL_SLICE = 8192  # bytes; samples grow by powers of two up to max_payload


def _iox() -> Any:
    try:
        import iceoryx2
    except ImportError as exc:
        raise TradewireError(
            "shm:// needs iceoryx2 (pip install 'iceoryx2>=0.10'); or use nats://HOST:PORT"
        ) from exc
    iceoryx2.set_log_level(iceoryx2.LogLevel.Error)
    return iceoryx2


def _listener_fd(event_service: Any) -> tuple[Any, int]:
    """Create a listener and find its socket: the new unix socket that wakes on a notify."""
    before = set(os.listdir("/proc/self/fd"))
    listener = event_service.listener_builder().create()
    candidates = []
    for name in sorted(set(os.listdir("/proc/self/fd")) - before, key=int):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                candidates.append(int(name))
    notifier = event_service.notifier_builder().create()
    notifier.notify()
    ready, _, _ = select.select(candidates, [], [], 1.0)
    listener.try_wait()
    notifier.delete()
    if len(ready) != 1:
        listener.delete()
        raise TradewireError(f"iceoryx2 listener: no single wake-up socket ({candidates})")
    return listener, ready[0]


def _delete(*handles: Any) -> None:
    """Release ports before their services: the last handle gone removes a service."""
    for handle in handles:
        if handle is not None:
            with contextlib.suppress(Exception):  # a handle iceoryx2 already dropped
                handle.delete()


class _IoxOut:
    wakes_skipped = 0  # iceoryx2's notify does not say: nothing is counted

    def __init__(self, pubsub: Any, event: Any, publisher: Any) -> None:
        self.services = (pubsub, event)
        self.publisher, self.notifier = publisher, event.notifier_builder().create()

    def put(self, subject: bytes, payload: bytes) -> bool:
        n = _SUBJ.size + len(subject) + len(payload)
        sample = self.publisher.loan_slice_uninit(n)
        ptr = sample.payload_ptr
        ctypes.memmove(ptr, _SUBJ.pack(len(subject)) + subject, _SUBJ.size + len(subject))
        ctypes.memmove(ptr + _SUBJ.size + len(subject), payload, len(payload))
        if not sample.assume_init().send():
            return False  # the reader's buffer is full (or it is gone): DiscardData
        self.notifier.notify()
        return True

    def close(self) -> None:
        _delete(self.notifier, self.publisher, *self.services)


class _IoxIn:
    def __init__(self, pubsub: Any, event: Any, capacity: int, busy_poll: bool) -> None:
        self.services = (pubsub, event)
        self.subscriber = pubsub.subscriber_builder().buffer_size(capacity).create()
        self.listener: Any = None
        self.fd: int | None = None
        self.skipped = 0  # samples whose subject is not ASCII: skipped, reading goes on
        if not busy_poll:
            self.listener, self.fd = _listener_fd(event)

    def clear_wake(self) -> None:
        if self.listener is not None:
            self.listener.try_wait()

    def drain(self, sink: list[tuple[str, bytes]], limit: int) -> int:
        n, receive = 0, self.subscriber.receive
        while n < limit:
            sample = receive()
            if sample is None:
                break
            raw = ctypes.string_at(sample.payload_ptr, sample.header.number_of_elements)
            sample.delete()
            slen = _SUBJ.unpack_from(raw)[0]
            end = _SUBJ.size + slen
            try:
                subject = str(raw[_SUBJ.size : end], "ascii")
            except UnicodeDecodeError:
                self.skipped += 1
                continue
            sink.append((subject, raw[end:]))
            n += 1
        return n

    def close(self) -> None:
        _delete(self.listener, self.subscriber, *self.services)


class IoxBus(RegistryBus):
    """The :class:`tradewire.bus.base.Bus` over iceoryx2: see the module docstring."""

    TRANSPORT = "iceoryx2"

    _node: Any = None  # this process's iceoryx2 node, made on first use

    def _ensure_node(self) -> Any:
        if self._node is None:
            iox = _iox()
            self._node = iox.NodeBuilder.new().create(iox.ServiceType.Ipc)
            self._cleanup()
        return self._node

    def _cleanup(self) -> None:
        """Remove what dead processes left in iceoryx2 (their nodes, ports, segments)."""
        try:
            self._node.try_cleanup_dead_nodes()
        except Exception as exc:  # iceoryx2 raises its own types; a failed clean is not fatal
            log.warning("iceoryx2 could not clean up dead nodes: %s", exc)

    def _service(
        self, base: str, direction: str, *, create: bool, capacity: int = 0
    ) -> tuple[Any, Any]:
        iox, node = _iox(), self._ensure_node()
        pubsub = node.service_builder(iox.ServiceName.new(f"{base}/{direction}"))
        pubsub = pubsub.publish_subscribe(iox.Slice[ctypes.c_uint8])
        event = node.service_builder(iox.ServiceName.new(f"{base}/{direction}-ev")).event()
        if not create:  # the worker that made it chose the bounds; ask for nothing more
            pair = (pubsub.open(), event.open())
        else:
            pubsub = (
                pubsub.max_publishers(1)
                .max_subscribers(1)
                .subscriber_max_buffer_size(capacity)
                .enable_safe_overflow(False)
            )
            pair = (pubsub.create(), event.create())
        return pair

    def _publisher(self, service: Any) -> Any:
        iox = _iox()
        return (
            service.publisher_builder()
            .initial_max_slice_len(min(_INITIAL_SLICE, self.max_payload + 256))
            .allocation_strategy(iox.AllocationStrategy.PowerOfTwo)
            .backpressure_strategy(iox.BackpressureStrategy.DiscardData)
            .create()
        )

    def _worker_channels(self, capacity: int) -> tuple[_IoxIn, _IoxOut, dict[str, Any], list[int]]:
        base = f"tradewire/{self.name}/{self.worker}/{uuid.uuid4().hex[:12]}"
        try:
            down_pubsub, down_event = self._service(base, "down", create=True, capacity=capacity)
            down = _IoxIn(down_pubsub, down_event, capacity, self.busy_poll)
            up_pubsub, up_event = self._service(base, "up", create=True, capacity=capacity)
            up = _IoxOut(up_pubsub, up_event, self._publisher(up_pubsub))
        except TradewireError:
            raise
        except Exception as exc:
            raise TradewireError(f"iceoryx2: cannot create {base}: {exc}") from exc
        return down, up, {"iox": base, "capacity": capacity}, []

    def _gateway_channels(
        self, worker: str, hello: dict[str, Any], fds: list[int]
    ) -> tuple[_IoxOut, _IoxIn, list[int]]:
        base = str(hello["iox"])
        if fds or not base.startswith(f"tradewire/{self.name}/{worker}/"):
            raise TradewireError(f"bad iceoryx2 hello {hello!r}")
        try:
            down_pubsub, down_event = self._service(base, "down", create=False)
            down = _IoxOut(down_pubsub, down_event, self._publisher(down_pubsub))
            up_pubsub, up_event = self._service(base, "up", create=False)
            up = _IoxIn(up_pubsub, up_event, int(hello["capacity"]), self.busy_poll)
        except TradewireError:
            raise
        except Exception as exc:
            raise TradewireError(f"iceoryx2: cannot open {base}: {exc}") from exc
        return down, up, []

    def _forget_worker(self) -> None:
        self._cleanup()

    async def _teardown(self) -> None:
        await super()._teardown()
        _delete(self._node)
        self._node = None
