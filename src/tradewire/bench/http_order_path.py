"""Order round trip on the HTTP path: tradewire (raw httptools / aiohttp) vs alpaca-py.

Each contender runs in its own subprocess and sends ``count`` sequential orders to a
server in another subprocess, after ``warmup`` unmeasured ones. Two servers:

- ``fixed``: a minimal asyncio server answering every request with a canned 200 order, so
  the figure is the client's own cost plus loopback;
- ``sim``: the broker simulator (``tradewire sim``), so the figure includes a realistic
  server that validates and books the order.

Percentiles come from an HdrHistogram (1 µs .. 60 s, 3 significant digits).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from typing import Any

from tradewire.bench import extras

CONTENDERS = ("tradewire-raw", "tradewire-aiohttp", "alpaca-py")
# Packages outside the base install, by import name: the bench skips a contender without them.
NEEDS = {"alpaca-py": ("alpaca",)}
_ORDER = (
    b'{"id":"61e69015-8549-4bfd-b9c3-01e75843f47d","client_order_id":"x","created_at":"2021-03-16T18:38:01.942282Z",'
    b'"updated_at":"2021-03-16T18:38:01.942282Z","submitted_at":"2021-03-16T18:38:01.937734Z","symbol":"AAPL",'
    b'"asset_id":"b0b6dd9d-8b9b-48a9-ba46-b9d54906e415","asset_class":"us_equity","qty":"1","filled_qty":"0",'
    b'"order_class":"simple","order_type":"limit","type":"limit","side":"buy","time_in_force":"day",'
    b'"limit_price":"1.00","status":"accepted","extended_hours":false,"legs":null}'
)


class _Fixed(asyncio.Protocol):
    # Answers every complete request with the canned order; enough HTTP for keep-alive clients.
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.t = transport
        self.buf = b""
        self.resp = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % len(_ORDER)
            + _ORDER
        )
        clock = b'{"timestamp":"2026-01-02T15:00:00Z","is_open":true,"next_open":"2026-01-05T14:30:00Z","next_close":"2026-01-02T21:00:00Z"}'
        self.clock = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(clock) + clock

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if not sep:
                return
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if len(rest) < length:
                return
            self.buf = rest[length:]
            if head.startswith(b"GET /v2/clock"):
                self.t.write(self.clock)  # type: ignore[attr-defined]
            else:
                self.t.write(self.resp)  # type: ignore[attr-defined]


async def _serve_fixed() -> None:
    import socket

    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Fixed, "127.0.0.1", 0)
    sock = server.sockets[0]
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print(f"tradewire sim ready feed=- broker=http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


def _histogram() -> Any:
    from hdrh.histogram import HdrHistogram

    return HdrHistogram(1, 60_000_000, 3)


def _summary(hist: Any, count: int) -> dict[str, Any]:
    return {
        "samples": count,
        "p50_us": hist.get_value_at_percentile(50),
        "p90_us": hist.get_value_at_percentile(90),
        "p99_us": hist.get_value_at_percentile(99),
        "p999_us": hist.get_value_at_percentile(99.9),
        "max_us": hist.get_max_value(),
        "mean_us": round(hist.get_mean_value(), 1),
    }


async def _run_tradewire(url: str, count: int, warmup: int, transport: str) -> dict[str, Any]:
    from tradewire.venues.alpaca.client import AlpacaClient
    from tradewire.venues.alpaca.config import AlpacaBrokerConfig
    from tradewire.venues.alpaca.http_aiohttp import AiohttpTransport
    from tradewire.venues.alpaca.requests import build_order, encode_body

    # The servers here enforce no rate limit; lift the client's 200/min so it measures latency.
    config = AlpacaBrokerConfig(rate_limit_per_minute=10**9)
    client = AlpacaClient("test-key", "test-secret", base_url=url, config=config)
    await client.connect()
    hist = _histogram()
    tag = f"{transport}-{time.time_ns()}"
    if transport == "raw":
        for i in range(warmup + count):
            t0 = time.perf_counter_ns()
            await client.place_order("AAPL", 1, "buy", "limit", 1.00, client_order_id=f"{tag}-{i}")
            if i >= warmup:
                hist.record_value(max(1, (time.perf_counter_ns() - t0) // 1000))
    else:
        aio = AiohttpTransport(url, headers=client._builder.auth_headers())
        await aio.warm()
        for i in range(warmup + count):
            t0 = time.perf_counter_ns()
            body = encode_body(
                build_order(
                    symbol="AAPL",
                    qty=1,
                    side="buy",
                    order_type="limit",
                    limit_price=1.00,
                    client_order_id=f"{tag}-{i}",
                )
            )
            resp = await aio.request("POST", "/v2/orders", body, timeout_s=5)
            assert resp.status == 200, resp
            if i >= warmup:
                hist.record_value(max(1, (time.perf_counter_ns() - t0) // 1000))
        await aio.close()
    await client.close()
    return _summary(hist, count)


def _run_alpaca_py(url: str, count: int, warmup: int) -> dict[str, Any]:
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import OrderSide, TimeInForce
    from alpaca.trading.requests import LimitOrderRequest

    client = TradingClient("test-key", "test-secret", url_override=url)
    hist = _histogram()
    tag = f"sdk-{time.time_ns()}"
    for i in range(warmup + count):
        t0 = time.perf_counter_ns()
        client.submit_order(
            LimitOrderRequest(
                symbol="AAPL",
                qty=1,
                side=OrderSide.BUY,
                time_in_force=TimeInForce.DAY,
                limit_price=1.00,
                client_order_id=f"{tag}-{i}",
            )
        )
        if i >= warmup:
            hist.record_value(max(1, (time.perf_counter_ns() - t0) // 1000))
    return _summary(hist, count)


def _contender(name: str, url: str, count: int, warmup: int) -> dict[str, Any]:
    import uvloop

    if name == "alpaca-py":
        return _run_alpaca_py(url, count, warmup)
    transport = "raw" if name == "tradewire-raw" else "aiohttp"
    return uvloop.run(_run_tradewire(url, count, warmup, transport))


def _start_server(kind: str) -> tuple[subprocess.Popen[str], str]:
    if kind == "fixed":
        cmd = [sys.executable, "-m", "tradewire.bench.http_order_path", "--serve-fixed"]
    else:
        cmd = [sys.executable, "-m", "tradewire.app.cli", "sim", "--rate", "1", "--symbols", "AAPL"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "broker=" not in line:
        proc.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return proc, line.strip().rsplit("broker=", 1)[1]


def run(
    count: int = 2000, warmup: int = 200, servers: tuple[str, ...] = ("fixed", "sim")
) -> dict[str, Any]:
    """Every contender against every server kind, each in a fresh process pair, so that no
    client inherits another's warmed-up state or competes with a server on its loop.

    A contender whose packages are not installed is not started (its child would only
    crash); ``skipped`` says which and why, and the speed-ups against it are left out.
    """
    skipped = extras.unavailable(NEEDS, CONTENDERS)
    results: dict[str, Any] = {"count": count, "warmup": warmup, "servers": {}, "skipped": skipped}
    for kind in servers:
        per: dict[str, Any] = {}
        for name in CONTENDERS:
            if name in skipped:
                continue
            proc, url = _start_server(kind)
            try:
                out = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "tradewire.bench.http_order_path",
                        "--contender",
                        name,
                        "--url",
                        url,
                        "--count",
                        str(count),
                        "--warmup",
                        str(warmup),
                    ],
                    capture_output=True,
                    text=True,
                    timeout=900,
                    check=True,
                )
            finally:
                proc.terminate()
                proc.wait(10)
            per[name] = json.loads(out.stdout.strip().splitlines()[-1])
        base: dict[str, Any] = per.get("alpaca-py", {})
        for name in ("tradewire-raw", "tradewire-aiohttp") if base else ():
            per[name]["p50_speedup_vs_alpaca_py"] = round(base["p50_us"] / per[name]["p50_us"], 1)
            per[name]["p99_speedup_vs_alpaca_py"] = round(base["p99_us"] / per[name]["p99_us"], 1)
        results["servers"][kind] = per
    return results


def report(results: dict[str, Any]) -> str:
    lines = [f"order round trip, {results['count']:,} sequential orders per contender (µs)"]
    for kind, per in results["servers"].items():
        lines.append(f"  server: {kind}")
        lines.append(f"    {'contender':<18}{'p50':>8}{'p90':>8}{'p99':>8}{'p99.9':>8}{'max':>9}")
        for name, r in per.items():
            lines.append(
                f"    {name:<18}{r['p50_us']:>8}{r['p90_us']:>8}{r['p99_us']:>8}{r['p999_us']:>8}{r['max_us']:>9}"
            )
    for name, why in results.get("skipped", {}).items():
        lines.append(f"  {name} skipped, {why}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tradewire.bench.http_order_path")
    p.add_argument("--serve-fixed", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--contender", choices=CONTENDERS, help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--server", choices=("fixed", "sim", "both"), default="both")
    p.add_argument("--json", help="write results as JSON to this path")
    args = p.parse_args(argv)
    if args.serve_fixed:
        import uvloop

        uvloop.run(_serve_fixed())
        return 0
    if args.contender:
        print(json.dumps(_contender(args.contender, args.url, args.count, args.warmup)))
        return 0
    servers = ("fixed", "sim") if args.server == "both" else (args.server,)
    results = run(args.count, args.warmup, servers)
    print(report(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
