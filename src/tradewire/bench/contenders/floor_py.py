"""The tick-to-trade floor in pure Python: what CPython itself costs, with no framework.

The C floor (``floor.c``) says what the kernel and loopback cost; this one adds only the
interpreter. Between the two and the engine, a bench figure can be split into "the machine",
"Python" and "tradewire". So it uses raw sockets and the standard library only: no asyncio
(its loop is overhead this floor exists to exclude), no JSON decoding of the feed (a trigger
is found with ``bytes.find``), and one pre-formatted HTTP request per trigger on one
kept-alive connection. It follows the bench protocol of :mod:`tradewire.sim.triggers`.

Run as ``python src/tradewire/bench/contenders/floor_py.py FEED_HOST:PORT BROKER_URL SYMBOLS
[--busy-poll]`` (the bench passes this file's path);
it prints ``floor ready`` once subscribed and runs until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import selectors
import signal
import socket
import struct
import sys
from types import FrameType

_MASK = b"\x12\x34\x56\x78"
_NUMBER = frozenset(b"0123456789.-+eE")
_READ = 262144


class _Stop(Exception):
    """Raised by the signal handler: it must break a blocking ``select`` (PEP 475 retries
    a system call interrupted by a signal whose handler returns normally)."""


def _on_signal(_signum: int, _frame: FrameType | None) -> None:
    raise _Stop


def _host_port(text: str, scheme: str) -> tuple[str, int, str]:
    """``host:port`` or ``scheme://host:port/path`` -> (host, port, path or "")."""
    rest = text.removeprefix(scheme)
    hostport, slash, path = rest.partition("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"floor_py: {text}: expected host:port")
    return host, int(port), slash + path


def _connect(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _ws_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (RFC 6455 5.3 requires the mask; a fixed key suffices on
    loopback, where there is no proxy cache to poison)."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n <= 0xFFFF:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    masked = bytes(b ^ _MASK[i & 3] for i, b in enumerate(payload))
    return head + _MASK + masked


def _field(data: bytes, start: int, end: int, key: bytes) -> bytes | None:
    """The number text after ``key`` in ``data[start:end]``, verbatim: the limit price is the
    exact decimal the simulator wrote and never goes through a float."""
    i = data.find(key, start, end)
    if i < 0:
        return None
    i += len(key)
    while i < end and data[i] in b" :":
        i += 1
    j = i
    while j < end and data[j] in _NUMBER:
        j += 1
    return data[i:j] if j > i else None


class Floor:
    """One feed connection, one broker connection, one loop; all state on the instance."""

    def __init__(
        self,
        feed: socket.socket,
        broker: socket.socket,
        *,
        broker_host: str,
        trigger_symbol: str,
        key: str,
        secret: str,
        tag: str,
    ) -> None:
        self.feed = feed
        self.broker = broker
        self.needle = f'"sym":"{trigger_symbol}"'.encode()
        self.sub_ack = f"subscribed to: Q.{trigger_symbol}".encode()
        self.symbol = trigger_symbol
        self.tag = tag
        # Everything but the body and its length is fixed: formatted once, not per order.
        self.head = (
            f"POST /v2/orders HTTP/1.1\r\nHost: {broker_host}\r\n"
            f"APCA-API-KEY-ID: {key}\r\nAPCA-API-SECRET-KEY: {secret}\r\n"
            "Content-Type: application/json\r\nConnection: keep-alive\r\nContent-Length: "
        ).encode()
        self.feed_in = bytearray()
        self.message = bytearray()
        self.message_opcode = 0
        self.broker_in = bytearray()
        self.drain_only = False
        self.subscribed = False
        self.closed = False
        self.triggers = 0
        self.responses_ok = 0
        self.responses_bad = 0

    # -- feed ------------------------------------------------------------------------------

    def scan(self, data: bytes) -> None:
        """Find trigger quotes; quote events hold no nested objects, so a trigger's object is
        bounded by the nearest braces around its symbol."""
        needle = self.needle
        at = data.find(needle)
        while at >= 0:
            start = data.rfind(b"{", 0, at)
            end = data.find(b"}", at)
            if end < 0:
                break
            q = _field(data, start, end, b'"q"')
            bp = _field(data, start, end, b'"bp"')
            ap = _field(data, start, end, b'"ap"')
            if q is not None and bp is not None and ap is not None:
                self.triggers += 1
                self.order(int(q), bp, ap)
            at = data.find(needle, end)
        if not self.subscribed:
            if b"auth_failed" in data:
                raise SystemExit("floor_py: feed authentication failed")
            if self.sub_ack in data:
                self.subscribed = True
                print("floor ready", flush=True)

    def order(self, k: int, bid: bytes, ask: bytes) -> None:
        buy = k % 2 == 0
        body = (
            b'{"symbol":"%s","qty":"1","side":"%s","type":"limit","time_in_force":"day",'
            b'"limit_price":"%s","client_order_id":"%s-t%d"}'
            % (
                self.symbol.encode(),
                b"buy" if buy else b"sell",
                ask if buy else bid,
                self.tag.encode(),
                k,
            )
        )
        self.send_all(self.broker, b"%s%d\r\n\r\n%s" % (self.head, len(body), body))

    @staticmethod
    def send_all(sock: socket.socket, data: bytes) -> None:
        """``sendall`` that also works on a non-blocking socket (spins on a full buffer,
        which a few hundred bytes on a healthy loopback connection never meet)."""
        view = memoryview(data)
        while view:
            try:
                view = view[sock.send(view) :]
            except BlockingIOError:
                continue

    def on_feed_bytes(self, chunk: bytes) -> None:
        """Parse every complete frame; a partial one waits in ``feed_in`` for the next read."""
        buf = self.feed_in
        buf += chunk
        pos = 0
        n = len(buf)
        while n - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            opcode = b0 & 0x0F
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if n - pos < 4:
                    break
                (length,) = struct.unpack_from("!H", buf, pos + 2)
                head = 4
            elif length == 127:
                if n - pos < 10:
                    break
                (length,) = struct.unpack_from("!Q", buf, pos + 2)
                head = 10
            mask = b""
            if b1 & 0x80:
                if n - pos < head + 4:
                    break
                mask = bytes(buf[pos + head : pos + head + 4])
                head += 4
            if n - pos - head < length:
                break
            payload = bytes(buf[pos + head : pos + head + length])
            if mask:
                payload = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
            pos += head + length
            self.on_frame(bool(b0 & 0x80), opcode, payload)
        del buf[:pos]

    def on_frame(self, fin: bool, opcode: int, payload: bytes) -> None:
        if opcode == 0x9:
            self.send_all(self.feed, _ws_frame(0xA, payload))
        elif opcode == 0x8:
            self.send_all(self.feed, _ws_frame(0x8, payload[:2]))
            print("floor_py: feed closed the connection", file=sys.stderr)
            self.closed = True
        elif opcode == 0xA:
            return
        elif opcode == 0x0:
            self.message += payload
            if fin:
                if self.message_opcode in (0x1, 0x2):
                    self.scan(bytes(self.message))
                self.message.clear()
        elif fin:
            self.scan(payload)
        else:
            self.message_opcode = opcode
            self.message[:] = payload

    # -- broker ----------------------------------------------------------------------------

    def on_broker_bytes(self, chunk: bytes) -> None:
        """Keep in step with the responses (status line and Content-Length) so rejected
        orders are counted; a response without a length (chunked) makes this drain only,
        which keeps the connection usable because no order ever waits for an answer."""
        if self.drain_only:
            return
        buf = self.broker_in
        buf += chunk
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).split(b"\r\n")
            status = int(head[0].split()[1]) if head[0].startswith(b"HTTP/1.") else 0
            length = -1
            for line in head[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if 200 <= status < 300:
                self.responses_ok += 1
            else:
                self.responses_bad += 1
            if length < 0:
                self.drain_only = True
                buf.clear()
                return
            if len(buf) < end + 4 + length:
                return
            if not 200 <= status < 300:
                body = bytes(buf[end + 4 : end + 4 + length]).decode(errors="replace")
                print(f"floor_py: broker answered {status}: {body}", file=sys.stderr)
            del buf[: end + 4 + length]

    # -- loops -----------------------------------------------------------------------------

    def run_blocking(self) -> None:
        """Sleep in ``select`` on both sockets: the ordinary way a process waits."""
        with selectors.DefaultSelector() as sel:
            sel.register(self.feed, selectors.EVENT_READ, "feed")
            sel.register(self.broker, selectors.EVENT_READ, "broker")
            while not self.closed:
                for key, _ in sel.select():
                    sock = self.feed if key.data == "feed" else self.broker
                    chunk = sock.recv(_READ)
                    if not chunk:
                        print(f"floor_py: {key.data} connection closed", file=sys.stderr)
                        return
                    if key.data == "feed":
                        self.on_feed_bytes(chunk)
                    else:
                        self.on_broker_bytes(chunk)

    def run_busy(self) -> None:
        """Never sleep: the wake-up a blocking wait costs is part of what a floor measures."""
        feed, broker = self.feed, self.broker
        feed.setblocking(False)
        broker.setblocking(False)
        feed_recv, broker_recv = feed.recv, broker.recv
        while not self.closed:
            try:
                chunk = feed_recv(_READ)
            except BlockingIOError:
                pass
            else:
                if not chunk:
                    print("floor_py: feed connection closed", file=sys.stderr)
                    return
                self.on_feed_bytes(chunk)
            try:
                chunk = broker_recv(_READ)
            except BlockingIOError:
                pass
            else:
                if not chunk:
                    print("floor_py: broker connection closed", file=sys.stderr)
                    return
                self.on_broker_bytes(chunk)


def _handshake(sock: socket.socket, host: str, port: int, path: str) -> bytes:
    """Upgrade to WebSocket; returns any frame bytes that came right behind the 101."""
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit("floor_py: feed closed during the WebSocket handshake")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    if head[9:12] != b"101":
        raise SystemExit(f"floor_py: WebSocket upgrade refused: {head.decode(errors='replace')}")
    return rest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="floor_py.py")
    parser.add_argument("feed", help="host:port (or ws://host:port/path) of the feed simulator")
    parser.add_argument("broker_url", help="http://host:port of the broker simulator")
    parser.add_argument("symbols", help="comma-separated background symbols to subscribe")
    parser.add_argument("--busy-poll", action="store_true", help="spin instead of select")
    parser.add_argument("--path", default=None, help="feed URL path (default /stocks)")
    parser.add_argument("--trigger-symbol", default="TRIG")
    parser.add_argument("--key", default="test-key")
    parser.add_argument("--secret", default="test-secret")
    parser.add_argument("--tag", default=None, help="client_order_id prefix (default per pid)")
    args = parser.parse_args(argv)

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    feed_host, feed_port, url_path = _host_port(args.feed, "ws://")
    broker_host, broker_port, _ = _host_port(args.broker_url, "http://")
    path = args.path or url_path or "/stocks"
    # Broker first: its connection is open before the first trigger can arrive.
    broker = _connect(broker_host, broker_port)
    feed = _connect(feed_host, feed_port)
    floor = Floor(
        feed,
        broker,
        broker_host=f"{broker_host}:{broker_port}",
        trigger_symbol=args.trigger_symbol,
        key=args.key,
        secret=args.secret,
        # client_order_id must be unique per simulator: a fresh tag per process.
        tag=args.tag or f"floorpy{os.getpid()}",
    )
    try:
        rest = _handshake(feed, feed_host, feed_port, path)
        channels = [f"Q.{s}" for s in args.symbols.split(",") if s] + [f"Q.{args.trigger_symbol}"]
        feed.sendall(_ws_frame(0x1, b'{"action":"auth","params":"%s"}' % args.key.encode()))
        feed.sendall(
            _ws_frame(0x1, b'{"action":"subscribe","params":"%s"}' % ",".join(channels).encode())
        )
        floor.on_feed_bytes(rest)
        if args.busy_poll:
            floor.run_busy()
        else:
            floor.run_blocking()
    except _Stop:
        pass
    finally:
        feed.close()
        broker.close()
    print(
        f"floor_py: stopped; triggers {floor.triggers}, responses ok {floor.responses_ok}, "
        f"not ok {floor.responses_bad}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
