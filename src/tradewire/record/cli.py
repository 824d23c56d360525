"""``tradewire record``: subscribe to quotes and trades and write every frame as received.

The frame is kept as the bytes the server sent, not re-encoded events, so a replay sees what
the client saw (field order, unknown fields, batching) and a decoder bug found later can be
replayed against the original. Timestamps are ``time.time_ns()`` so recordings of separate
processes and the exchange's own timestamps can be lined up.

Exit codes: 0 after ``--duration`` or on SIGINT/SIGTERM (the last block and the manifest
are written either way), 1 when the feed fails (refused key, gave up), 2 for bad arguments.
Every error is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import re
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from picows import WSTransport

from tradewire.configbase import POLYGON_KEY_VARS, POLYGON_URL_VARS, from_environment
from tradewire.engine.symbols import normalize_symbols
from tradewire.errors import FeedClosedError, TradewireError
from tradewire.live.feeds import market_of
from tradewire.record.format import RecordingCorrupt
from tradewire.record.writer import RecordingWriter, WriterOptions
from tradewire.venues.polygon.client import PolygonClient
from tradewire.venues.polygon.config import PolygonFeedConfig
from tradewire.venues.polygon.messages import MarketEvent
from tradewire.venues.polygon.protocol import market_url

log = logging.getLogger("tradewire.record")

_SIZE = re.compile(r"(\d+)\s*([kmgt]?)i?b?", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
CHANNELS = ("Q", "T")
CRYPTO_CHANNELS = ("XQ", "XT", "XA")
"""The crypto cluster's quotes, trades and minute bars: recorded over its own connection
(``/crypto`` on the feed URL's host) into the recording's ``crypto/`` sub-recording, whose
manifest says ``"market": "crypto"`` (issue 23). Stock-only recordings are unchanged."""
CRYPTO_DIR = "crypto"
OPTION_CHANNELS = ("Q", "T", "AM")
"""The options cluster's quotes, trades and minute bars of each contract (``Q.O:SPY…``):
recorded over its own connection (``/options``) into ``options/``, as crypto (issue 24)."""
PARTS = {"crypto": CRYPTO_DIR, "options": "options"}
"""The sub-folder of each market recorded beside the stocks (the stocks are the folder)."""
PROGRESS_S = 5.0
"""Seconds between progress lines."""


class BadArgument(ValueError):
    """One line for the operator: which option and why."""


def configure(parser: argparse.ArgumentParser) -> None:
    # No argparse types or required=: their errors print the usage block too, and a bad
    # argument must be exactly one line (checked in main()).
    parser.add_argument(
        "--symbols", help="comma-separated tickers and pairs (AAPL,BTC/USD), or * for every ticker"
    )
    parser.add_argument("--out", help="recording folder (created; an existing one is continued)")
    parser.add_argument("--duration", help="stop after S seconds (default: until Ctrl-C)")
    parser.add_argument(
        "--feed-url", help="WebSocket URL, e.g. the simulator's (default: the real-time feed)"
    )
    parser.add_argument(
        "--max-bytes", help="keep the folder under N bytes (suffix k/M/G): oldest segments go"
    )
    parser.add_argument("--rotate-bytes", default="64M", help="start a new segment past N bytes")
    parser.add_argument("--flush-ms", default="100", help="write a block at least this often")
    parser.add_argument("--flush-frames", default="1000", help="or every N frames")
    parser.add_argument("--log-level", default="WARNING")


@dataclass(frozen=True, slots=True)
class RecordArgs:
    symbols: list[str]
    out: Path
    duration_s: float | None
    feed_url: str | None
    options: WriterOptions


def parse_symbols(text: str | None) -> list[str]:
    names = [s.strip() for s in (text or "").split(",") if s.strip()]
    if not names:
        raise BadArgument("--symbols: give tickers, e.g. AAPL,MSFT, or * for all")
    if names == ["*"]:
        return names
    try:  # aapl means AAPL, the one rule of engine.symbols
        return sorted(normalize_symbols(names))
    except ValueError as exc:
        raise BadArgument(f"--symbols: {exc}") from None


def parse_size(option: str, text: str) -> int:
    match = _SIZE.fullmatch(text.strip())
    value = int(match.group(1)) * _UNITS[match.group(2).lower()] if match else 0
    if value <= 0:
        raise BadArgument(f"{option}: {text!r} is not a positive size (e.g. 500000, 64M, 2G)")
    return value


def parse_number(option: str, text: str, *, allow_zero: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise BadArgument(f"{option}: {text!r} must be a number {'>= 0' if allow_zero else '> 0'}")
    return value


def parse_args(args: argparse.Namespace) -> RecordArgs:
    symbols = parse_symbols(args.symbols)
    if not args.out:
        raise BadArgument("--out: give the recording folder")
    duration = None
    if args.duration is not None:
        duration = parse_number("--duration", args.duration, allow_zero=False)
    if args.feed_url is not None and not args.feed_url.startswith(("ws://", "wss://")):
        raise BadArgument("--feed-url: must start with ws:// or wss://")
    rotate = parse_size("--rotate-bytes", args.rotate_bytes)
    limit = parse_size("--max-bytes", args.max_bytes) if args.max_bytes is not None else None
    if limit is not None and limit < rotate:
        raise BadArgument(f"--max-bytes ({limit}) must be at least --rotate-bytes ({rotate})")
    markets = len(symbols_by_market(symbols))
    if limit is not None and markets > 1:
        # The crypto/ and options/ parts live inside the folder --max-bytes bounds: each
        # market's writer keeps its share of it.
        if limit // markets < rotate:
            raise BadArgument(
                f"--max-bytes ({limit}) must be at least "
                f"{'twice' if markets == 2 else f'{markets} times'} --rotate-bytes "
                f"({rotate}) when recording {' and '.join(symbols_by_market(symbols))}"
            )
        limit //= markets
    options = WriterOptions(
        rotate_bytes=rotate,
        max_bytes=limit,
        flush_ms=parse_number("--flush-ms", args.flush_ms, allow_zero=False),
        flush_frames=int(parse_number("--flush-frames", args.flush_frames, allow_zero=False)),
    )
    return RecordArgs(symbols, Path(args.out), duration, args.feed_url, options)


class RecordingClient(PolygonClient):
    """The Polygon client, plus the frame's raw bytes for the writer.

    Only :meth:`on_frame` sees the payload as received; the event sink it calls tells which
    frames carried market data (status frames are not recorded) and their symbols.
    """

    def __init__(self, writer: RecordingWriter, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.market: str = kwargs.get("market", "stocks")
        self.writer = writer
        self._payload: memoryview | None = None
        self._wall_ns = 0
        self.write_error: OSError | None = None
        self.frames_in = 0  # market-data frames received (and handed to the writer)
        self.bytes_in = 0
        self.stopped = asyncio.Event()  # set when a write failed: recording cannot go on
        self.on_events(self._record)

    def on_frame(self, transport: WSTransport, payload: memoryview, recv_ns: int) -> None:
        self._wall_ns = time.time_ns()
        self._payload = payload
        try:
            super().on_frame(transport, payload, recv_ns)
        finally:
            self._payload = None

    def _record(self, events: list[MarketEvent], _perf_ns: int) -> None:  # or crypto events
        payload = self._payload
        if payload is None or self.write_error is not None:
            return
        self.frames_in += 1
        self.bytes_in += len(payload)
        try:
            self.writer.append(self._wall_ns, bytes(payload), [e.symbol for e in events])
        except OSError as exc:
            # Raising here would only drop the connection and reconnect (picows), and the
            # recorder would go on losing frames; a disk full must end the recording instead.
            self.write_error = exc
            self.stopped.set()


def split_markets(symbols: list[str]) -> tuple[list[str], list[str]]:
    """``(stock tickers, crypto pairs)``: a pair's key has a ``/`` (``BTC/USD``)."""
    return [s for s in symbols if "/" not in s], [s for s in symbols if "/" in s]


def symbols_by_market(symbols: list[str]) -> dict[str, list[str]]:
    """The symbols of each market they stream on (live/feeds.py), stocks first; ``*`` is
    every stock ticker."""
    out: dict[str, list[str]] = {}
    for s in symbols:
        out.setdefault("stocks" if s == "*" else market_of(s), []).append(s)
    return dict(sorted(out.items(), key=lambda item: item[0] != "stocks"))


def channels_of(client: RecordingClient, symbols: list[str]) -> list[str]:
    if client.market == "crypto":
        pairs = [s.replace("/", "-") for s in symbols]  # BTC/USD streams as BTC-USD
        return [f"{c}.{p}" for c in CRYPTO_CHANNELS for p in pairs]
    if client.market == "options":  # SPY260731P00395000 streams as O:SPY260731P00395000
        return [f"{c}.O:{s}" for c in OPTION_CHANNELS for s in symbols]
    return [f"{c}.{s}" for c in CHANNELS for s in symbols]


async def record(
    opts: RecordArgs, writer: RecordingWriter, client: RecordingClient, *more: RecordingClient
) -> int:
    """Record ``client`` (and ``more``: the crypto cluster's client, its own writer) until
    ``--duration``, a signal or a failed write; each client subscribes its writer's symbols."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    clients = (client, *more)

    async def session(c: RecordingClient) -> None:
        symbols = list(c.writer.manifest.symbols)
        await c.subscribe(channels_of(c, symbols))
        print(
            f"tradewire record: recording {','.join(symbols)} from {c.url} to {c.writer.directory}",
            flush=True,
        )
        await c.run()

    async def progress() -> None:
        # A recording runs for hours: one line every PROGRESS_S says it is alive and how
        # fast it fills the disk (silence was indistinguishable from a stalled feed).
        started, last_frames = time.monotonic(), 0
        while True:
            await asyncio.sleep(PROGRESS_S)
            frames = sum(c.frames_in for c in clients)
            print(
                f"tradewire record: {frames:,} frames "
                f"({_size(sum(c.bytes_in for c in clients))} received, "
                f"{_size(sum(c.writer.manifest.bytes for c in clients))} on disk), "
                f"{(frames - last_frames) / PROGRESS_S:,.0f} frames/s, "
                f"{time.monotonic() - started:,.0f} s",
                flush=True,
            )
            last_frames = frames

    async def flusher() -> None:
        period = min(opts.options.flush_ms / 1000, opts.options.manifest_interval_s) / 2
        while True:
            await asyncio.sleep(period)
            for c in clients:
                c.writer.flush_if_due()

    tasks = {
        *(loop.create_task(session(c)) for c in clients),
        *(loop.create_task(c.stopped.wait()) for c in clients),
        loop.create_task(stop.wait()),
        loop.create_task(flusher()),
        loop.create_task(progress()),
    }
    try:
        done, _ = await asyncio.wait(
            tasks, timeout=opts.duration_s, return_when=asyncio.FIRST_COMPLETED
        )
        for c in clients:
            if c.write_error is not None:
                raise c.write_error
        for task in done:
            if not task.cancelled() and (exc := task.exception()) is not None:
                raise exc
        for c in clients:
            if not done and c.connected_at is None:
                raise FeedClosedError(
                    f"feed {c.url} not ready within --duration "
                    f"(last attempt: {c.last_failure or 'still connecting'})"
                )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for c in clients:
            await c.close()
    return 0


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        opts = parse_args(args)
    except BadArgument as exc:
        return _fail(str(exc), 2)
    key = from_environment(POLYGON_KEY_VARS)
    if key is None:
        return _fail(
            "no Polygon API key: set POLYGON_API_KEY in the environment or .env, or record "
            "the simulator: start `tradewire sim` and paste the export lines it prints",
            2,
        )
    config = PolygonFeedConfig(max_reconnect_attempts=10)
    # The client takes POLYGON_WS_URL when no --feed-url is given; the manifest must name
    # the feed actually recorded, not the default one.
    feed_url = opts.feed_url or from_environment(POLYGON_URL_VARS) or config.url
    markets = symbols_by_market(opts.symbols)
    stocks = markets.pop("stocks", [])
    writers: list[RecordingWriter] = []
    try:
        writer = RecordingWriter(opts.out, feed_url=feed_url, symbols=stocks, options=opts.options)
        writers.append(writer)
        for market, symbols in markets.items():
            writers.append(
                RecordingWriter(
                    opts.out / PARTS[market],
                    feed_url=market_url(feed_url, market),
                    symbols=symbols,
                    market=market,
                    options=opts.options,
                )
            )
    except (OSError, RecordingCorrupt) as exc:
        for w in writers:
            w.close()
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return _fail(f"--out: cannot record to {opts.out}: {why}", 2)
    code = 1
    try:
        clients = [
            RecordingClient(writers[0], api_key=key, url=opts.feed_url, config=config),
            *(
                RecordingClient(
                    w, api_key=key, url=feed_url, config=config, market=w.manifest.market
                )
                for w in writers[1:]
            ),
        ]
        if not stocks:  # a crypto- or options-only recording: no stocks connection
            clients = clients[1:]
        code = _run(record(opts, clients[0].writer, *clients))
    except TradewireError as exc:
        _fail(str(exc), 1)
    except OSError as exc:
        _fail(f"writing {opts.out}: {exc.strerror or exc}", 1)
    finally:
        for w in writers:
            try:
                w.close()
            except OSError as exc:
                code = _fail(f"closing {w.directory}: {exc.strerror or exc}", 1)
    for w in writers:
        m = w.manifest
        market = "" if m.market == "stocks" else f"{m.market} "
        print(
            f"tradewire record: {w.frames} {market}frames in {len(m.segments)} segments, "
            f"{m.bytes} bytes, {m.evicted_total} evicted -> {w.directory}",
            flush=True,
        )
    return code


def _run(coro: Any) -> int:
    try:
        import uvloop

        result: int = uvloop.run(coro)
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        result = asyncio.run(coro)
    return result


def _size(n: int) -> str:
    """Bytes for a person: 5 B, 12.3 kB, 3.4 GB."""
    if n < 1000:
        return f"{n} B"
    value = float(n)
    for unit in ("kB", "MB", "GB"):
        value /= 1000
        if value < 1000 or unit == "GB":
            break
    return f"{value:,.1f} {unit}"


def _fail(message: str, code: int) -> int:
    print(f"tradewire record: error: {message}", file=sys.stderr)
    return code
