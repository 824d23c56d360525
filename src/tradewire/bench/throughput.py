"""Quotes decoded and dispatched per second: our client vs the official massive client.

The feed simulator runs in its own process and, once a client subscribes to ``Q.*``,
writes ``total`` quotes in frames of ``batch`` as fast as the socket takes them. Each
contender runs in a fresh subprocess of its own (msgspec's benchmark runner does the
same), counts the quotes its handler receives, and reports quotes per second from the
first frame to the last. Every contender sees byte-identical frames.

Crypto frames (issue 23) are rows of their own: ``tradewire-crypto`` (our client on the
``/crypto`` cluster) and ``massive-crypto`` (the official client with ``market="crypto"``)
read the same ``XQ`` quotes and ``XT`` trades (three quotes to a trade, 50 pairs), counted
as events the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from typing import Any

from tradewire.bench import extras
from tradewire.sim.feed.server import PolygonFeedServer
from tradewire.sim.sources import SyntheticMarket

CONTENDERS = ("tradewire", "massive", "tradewire-crypto", "massive-crypto")
# Packages outside the base install, by import name: the bench skips a contender without them.
NEEDS = {"massive": ("massive",), "massive-crypto": ("massive",)}
CRYPTO_CHANNELS = ("XQ.*", "XT.*")


def market_of(contender: str) -> str:
    return "crypto" if contender.endswith("-crypto") else "stocks"


def _frames(
    total: int, batch: int, seed: int, cluster: str = "stocks"
) -> list[tuple[str, str, bytes]]:
    import msgspec

    if cluster == "crypto":
        from tradewire.sim.crypto_source import SyntheticCrypto

        pairs = SyntheticCrypto(
            [f"C{i:02d}/USD" for i in range(50)], seed=seed, start_ms=0, bars=False
        )
        enc = msgspec.json.encode
        events = pairs.batch(total)[:total]  # XQ and XT, three quotes to a trade
        return [(e["ev"], e["pair"], enc(e)) for e in events]
    market = SyntheticMarket([f"S{i:03d}" for i in range(500)], seed=seed, start_ms=0)
    enc = msgspec.json.encode
    out: list[tuple[str, str, bytes]] = []
    while len(out) < total:
        sym = market.symbols[market.rng.randrange(len(market.symbols))]
        out.append(("Q", sym, enc(market.quote(sym))))
    return out


async def _serve(total: int, batch: int, seed: int, ready_fd: int, market: str = "stocks") -> None:
    import logging

    logging.getLogger("picows").setLevel(logging.ERROR)  # flow-control notices are expected here
    items = _frames(total, batch, seed, market)
    async with PolygonFeedServer(max_frame_bytes=batch * 200) as feed:
        os.write(ready_fd, f"{feed.port}\n".encode())
        for channel in CRYPTO_CHANNELS if market == "crypto" else ("Q.*",):
            await feed.wait_for_subscribers(channel, timeout_s=60)
        for i in range(0, len(items), batch):
            feed.publish_encoded(items[i : i + batch])
            if (i // batch) % 20 == 0:
                await asyncio.sleep(0)  # let the transport drain
        await asyncio.sleep(30)  # stay up until the parent stops us


async def _run_tradewire(url: str, total: int) -> dict[str, Any]:
    from tradewire.venues.polygon.client import PolygonClient
    from tradewire.venues.polygon.config import PolygonFeedConfig
    from tradewire.venues.polygon.messages import Quote

    count = 0
    first = last = 0
    done = asyncio.Event()
    last_price = 0.0

    def on_quote(q: Quote) -> None:  # a minimal "strategy": reads a field, counts
        nonlocal count, first, last, last_price
        if count == 0:
            first = time.perf_counter_ns()
        last_price = q.bid_price
        count += 1
        if count >= total:
            last = time.perf_counter_ns()
            done.set()

    client = PolygonClient("test-key", url=url, config=PolygonFeedConfig(stale_after_s=0))
    await client.subscribe_quotes(["*"], on_quote)
    await asyncio.wait_for(done.wait(), 120)
    await client.close()
    return {"quotes": count, "seconds": (last - first) / 1e9}


async def _run_tradewire_crypto(url: str, total: int) -> dict[str, Any]:
    from tradewire.venues.polygon.client import PolygonClient
    from tradewire.venues.polygon.config import PolygonFeedConfig

    count = 0
    first = last = 0
    done = asyncio.Event()
    seen = 0.0

    def on_event(e: Any) -> None:  # XQ and XT: reads a field, counts
        nonlocal count, first, last, seen
        if count == 0:
            first = time.perf_counter_ns()
        seen = e.timestamp
        count += 1
        if count >= total:
            last = time.perf_counter_ns()
            done.set()

    cfg = PolygonFeedConfig(stale_after_s=0)
    client = PolygonClient("test-key", url=url, config=cfg, market="crypto")
    await client.subscribe(list(CRYPTO_CHANNELS), on_event)
    await asyncio.wait_for(done.wait(), 120)
    await client.close()
    return {"quotes": count, "seconds": (last - first) / 1e9}


async def _run_massive(url: str, total: int, market: str = "stocks") -> dict[str, Any]:
    import logging

    from massive import WebSocketClient

    logging.getLogger("WebSocketClient").setLevel(logging.WARNING)
    count = 0
    first = last = 0
    done = asyncio.Event()
    host = url.split("//", 1)[1].rsplit("/", 1)[0]
    subscriptions = list(CRYPTO_CHANNELS) if market == "crypto" else ["Q.*"]
    client = WebSocketClient(
        api_key="test-key", feed=host, secure=False, market=market, subscriptions=subscriptions
    )

    async def handler(msgs: list[Any]) -> None:
        nonlocal count, first, last
        if count == 0:
            first = time.perf_counter_ns()
        for m in msgs:
            _ = m.timestamp
        count += len(msgs)
        if count >= total:
            last = time.perf_counter_ns()
            done.set()

    task = asyncio.create_task(client.connect(handler, max_size=None))
    await asyncio.wait_for(done.wait(), 300)
    await client.close()
    task.cancel()
    return {"quotes": count, "seconds": (last - first) / 1e9}


def _contender_main(name: str, url: str, total: int) -> None:
    import uvloop

    if name == "tradewire":
        result = uvloop.run(_run_tradewire(url, total))
    elif name == "tradewire-crypto":
        result = uvloop.run(_run_tradewire_crypto(url, total))
    else:
        result = uvloop.run(_run_massive(url, total, market_of(name)))
    print(json.dumps(result))


def run(total: int = 200_000, batch: int = 500, seed: int = 1) -> dict[str, Any]:
    """Run every contender against its own fresh simulator process; return the results.

    A contender whose packages are not installed is not started (its child would only
    crash); ``skipped`` says which and why, and there is then no ratio to give.
    """
    skipped = extras.unavailable(NEEDS, CONTENDERS)
    results: dict[str, Any] = {
        "total_quotes": total,
        "batch": batch,
        "contenders": {},
        "skipped": skipped,
    }
    for name in CONTENDERS:
        if name in skipped:
            continue
        read_fd, write_fd = os.pipe()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tradewire.bench.throughput",
                "--serve",
                str(write_fd),
                "--total",
                str(total),
                "--batch",
                str(batch),
                "--seed",
                str(seed),
                "--market",
                market_of(name),
            ],
            pass_fds=(write_fd,),
        )
        os.close(write_fd)
        with os.fdopen(read_fd) as ready:
            port = int(ready.readline())
        try:
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "tradewire.bench.throughput",
                    "--contender",
                    name,
                    "--url",
                    f"ws://127.0.0.1:{port}/{market_of(name)}",
                    "--total",
                    str(total),
                ],
                capture_output=True,
                text=True,
                timeout=600,
                check=True,
            )
        finally:
            server.terminate()
            server.wait(10)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["quotes_per_second"] = result["quotes"] / result["seconds"]
        results["contenders"][name] = result
    per = results["contenders"]
    if "tradewire" in per and "massive" in per:
        ours, theirs = per["tradewire"]["quotes_per_second"], per["massive"]["quotes_per_second"]
        results["ratio_tradewire_vs_massive"] = ours / theirs
    if "tradewire-crypto" in per and "massive-crypto" in per:
        ours = per["tradewire-crypto"]["quotes_per_second"]
        theirs = per["massive-crypto"]["quotes_per_second"]
        results["ratio_tradewire_vs_massive_crypto"] = ours / theirs
    return results


def report(results: dict[str, Any]) -> str:
    lines = [
        f"throughput: {results['total_quotes']:,} events a row in frames of {results['batch']}, "
        "simulator in its own process (crypto rows: XQ quotes and XT trades, 3 to 1)",
    ]
    for name, r in results["contenders"].items():
        unit = "XQ+XT/s" if market_of(name) == "crypto" else "quotes/s"
        lines.append(
            f"  {name:<16} {r['quotes_per_second']:>12,.0f} {unit:<8}  ({r['seconds']:.3f} s)"
        )
    for name, why in results.get("skipped", {}).items():
        lines.append(f"  {name:<16} skipped, {why}")
    if "ratio_tradewire_vs_massive" in results:
        lines.append(f"  ratio tradewire/massive: {results['ratio_tradewire_vs_massive']:.1f}x")
    if "ratio_tradewire_vs_massive_crypto" in results:
        ratio = results["ratio_tradewire_vs_massive_crypto"]
        lines.append(f"  ratio tradewire/massive, crypto frames: {ratio:.1f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tradewire.bench.throughput")
    p.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    p.add_argument("--contender", choices=CONTENDERS, help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--total", type=int, default=200_000)
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--market", choices=("stocks", "crypto"), default="stocks", help=argparse.SUPPRESS
    )
    p.add_argument("--json", help="write results as JSON to this path")
    args = p.parse_args(argv)
    if args.serve is not None:
        import contextlib

        import uvloop

        with contextlib.suppress(KeyboardInterrupt):
            uvloop.run(_serve(args.total, args.batch, args.seed, args.serve, args.market))
        return 0
    if args.contender is not None:
        _contender_main(args.contender, args.url, args.total)
        return 0
    results = run(args.total, args.batch, args.seed)
    print(report(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
