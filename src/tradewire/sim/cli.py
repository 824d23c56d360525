"""``tradewire sim``: the local venue simulator as a process.

Prints one ready line, ``tradewire sim ready feed=<url> broker=<url> rest=<url>``, that other
processes (``tradewire run``, ``tradewire bench``, tests) wait for; stops cleanly on
SIGINT/SIGTERM with exit code 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from tradewire.cliargs import non_negative, port, positive, probability
from tradewire.engine.instruments import InstrumentError, instrument_key
from tradewire.sim.massive_rest import MassiveRestServer, market_spot, market_trades
from tradewire.sim.sources import symbols_for
from tradewire.sim.venue import VenueConfig, VenueSimulator, is_recording
from tradewire.tuning.busy_poll import BusyPoller

log = logging.getLogger("tradewire.sim")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default loopback)")
    parser.add_argument(
        "--feed-port", type=port, default=0, help="Polygon feed port (0 = any free)"
    )
    parser.add_argument(
        "--polygon-key",
        action="append",
        default=None,
        help="API key the feed accepts (repeatable; default test-key)",
    )
    parser.add_argument(
        "--symbols",
        type=symbols_arg,
        default="20",
        help="comma-separated tickers, or a count of generated symbols (default 20)",
    )
    parser.add_argument(
        "--crypto",
        type=crypto_arg,
        default=(),
        metavar="PAIRS",
        help="comma-separated crypto pairs, e.g. BTC/USD,ETH/USD: quoted 24/7 on the feed's "
        "/crypto path (XQ/XT) and traded on the broker under Alpaca's crypto rules",
    )
    parser.add_argument(
        "--crypto-rate", type=positive, default=100.0, help="synthetic crypto events per second"
    )
    parser.add_argument(
        "--crypto-fee-bps",
        type=non_negative,
        default=0.0,
        help="crypto fee per fill in basis points, charged in the asset received and posted as "
        "CFEE activities (0 = none; Alpaca's tier-1 taker fee is 25)",
    )
    parser.add_argument(
        "--options",
        type=underlyings_arg,
        default=(),
        metavar="UNDERLYINGS",
        help="comma-separated option underlyings, e.g. SPY,AAPL: each is quoted as a stock and "
        "gets a chain of contracts priced by a Black-Scholes model, quoted on the feed's "
        "/options path (Q, T, A, AM) to the clients subscribed to them",
    )
    parser.add_argument("--rate", type=positive, default=1000.0, help="synthetic events per second")
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic market")
    parser.add_argument(
        "--tick-ms",
        type=float,
        default=1.0,
        help="synthetic source period; 0 = every loop turn (even spacing, costs a core)",
    )
    parser.add_argument(
        "--replay",
        type=Path,
        action="append",
        default=None,
        help="Polygon flat file (trades or quotes CSV/CSV.gz) or `tradewire record` recording "
        "(folder or .twr) to replay instead; repeatable",
    )
    parser.add_argument(
        "--speed", type=float, default=1.0, help="replay speed multiplier; 0 = as fast as possible"
    )
    parser.add_argument(
        "--replay-wait-for",
        default=None,
        metavar="CHANNEL",
        help="start the replay when a client subscribes to CHANNEL (e.g. Q.AAPL)",
    )
    parser.add_argument(
        "--max-connections", type=int, default=1, help="feed connections allowed per key"
    )
    parser.add_argument(
        "--eviction",
        choices=("oldest", "newest"),
        default="oldest",
        help="which connection max_connections disconnects",
    )
    parser.add_argument("--broker-port", type=port, default=0, help="Alpaca broker port (0 = any)")
    parser.add_argument("--alpaca-key", default="test-key", help="key id the broker accepts")
    parser.add_argument(
        "--alpaca-secret", default="test-secret", help="secret key the broker accepts"
    )
    parser.add_argument(
        "--accounts",
        type=accounts_arg,
        default={},
        metavar="NAME:KEY:SECRET,...",
        help="more broker accounts beside the --alpaca-key one (named main): each key pair "
        "trades its own book (cash, orders, positions, fills, trade_updates) on the same "
        "market; /_sim/ controls act on the account whose key pair authenticates them",
    )
    parser.add_argument(
        "--rate-limit", type=int, default=0, help="broker requests/minute per key (0 = off)"
    )
    parser.add_argument(
        "--partial-fills",
        type=probability,
        default=0.0,
        help="probability of a partial fill (0..1)",
    )
    parser.add_argument(
        "--duration",
        type=non_negative,
        default=0.0,
        help="stop after S seconds (0 = run until Ctrl-C; a replay that ends keeps serving)",
    )
    parser.add_argument(
        "--triggers",
        type=int,
        default=0,
        help="send N tick-to-trade trigger quotes once the trigger symbol has a subscriber",
    )
    parser.add_argument("--trigger-rate", type=float, default=200.0, help="triggers per second")
    parser.add_argument("--trigger-symbol", default="TRIG", help="symbol of the trigger quotes")
    parser.add_argument(
        "--trigger-warmup", type=float, default=1.0, help="seconds between subscribe and trigger 0"
    )
    parser.add_argument(
        "--busy-poll",
        action="store_true",
        help="never sleep in epoll (costs a core; the bench uses it so the simulator's own "
        "wake-up does not count as the contender's latency)",
    )
    parser.add_argument("--log-level", default="WARNING")
    configure_massive_rest(parser)


# Argument types: a bad value is argparse's one-line "error:" and exit 2, never a traceback
# or a simulator that starts and does something else than asked.


_TICKER = re.compile(r"[A-Za-z][A-Za-z0-9.\-]{0,15}")


def symbols_arg(text: str) -> str:
    """A count of generated symbols (1 or more) or a comma list of tickers."""
    spec = text.strip()
    if spec.lstrip("-").isdigit():
        if int(spec) < 1:
            raise argparse.ArgumentTypeError(f"{text!r}: give at least 1 symbol")
        return spec
    names = [s.strip() for s in spec.split(",")]
    bad = [n for n in names if not _TICKER.fullmatch(n)]
    if not names or bad:
        raise argparse.ArgumentTypeError(
            f"{text!r}: not a ticker list (e.g. AAPL,MSFT) or a count: {bad[0] if bad else ''!r}"
        )
    return spec


def crypto_arg(text: str) -> tuple[str, ...]:
    """A comma list of crypto pairs in any form (BTC/USD, BTCUSD, BTC-USD) -> ``BTC/USD``s."""
    pairs: list[str] = []
    for raw in (s.strip() for s in text.split(",")):
        try:
            pairs.append(instrument_key(raw, "crypto"))
        except InstrumentError as exc:
            raise argparse.ArgumentTypeError(f"{text[:80]!r}: {exc}") from None
    return tuple(dict.fromkeys(pairs))


def underlyings_arg(text: str) -> tuple[str, ...]:
    """A comma list of stock tickers (option underlyings) -> upper-case tickers."""
    names = [s.strip().upper() for s in text.split(",")]
    bad = [n for n in names if not _TICKER.fullmatch(n)]
    if not names or bad:
        raise argparse.ArgumentTypeError(
            f"{text[:80]!r}: not a ticker list (e.g. SPY,AAPL): {bad[0] if bad else ''!r}"
        )
    return tuple(dict.fromkeys(names))


def accounts_arg(text: str) -> dict[str, tuple[str, str]]:
    """``NAME:KEY:SECRET,...`` -> ``{name: (key, secret)}``. A refusal names the entry by
    its place and name only: a secret given on the command line is never echoed."""
    accounts: dict[str, tuple[str, str]] = {}
    for i, entry in enumerate(text.split(","), 1):
        name, key, secret = ([*entry.strip().split(":", 2), "", ""])[:3]
        name, key, secret = name.strip(), key.strip(), secret.strip()
        if not (name and key and secret):
            raise argparse.ArgumentTypeError(
                f"account {i} ({name[:40] or 'no name'!r}): expected NAME:KEY:SECRET"
            )
        if name == "main":
            raise argparse.ArgumentTypeError(
                "the account named main is --alpaca-key/--alpaca-secret; name the others"
            )
        if name in accounts:
            raise argparse.ArgumentTypeError(f"account {name[:40]!r} is given twice")
        if key in {k for k, _ in accounts.values()}:
            raise argparse.ArgumentTypeError(
                f"account {name[:40]!r}: its key id is another account's"
            )
        accounts[name] = (key, secret)
    return accounts


def venue_config(args: argparse.Namespace) -> VenueConfig:
    return VenueConfig(
        host=args.host,
        feed_port=args.feed_port,
        polygon_keys=tuple(args.polygon_key or ("test-key",)),
        max_connections=args.max_connections,
        eviction=args.eviction,
        symbols=symbols_for(args.symbols),
        rate=args.rate,
        tick_s=args.tick_ms / 1000,
        seed=args.seed,
        replay_files=list(args.replay or []),
        speed=args.speed,
        replay_wait_for=args.replay_wait_for,
        duration_s=args.duration,
        broker_port=args.broker_port,
        alpaca_key=args.alpaca_key,
        alpaca_secret=args.alpaca_secret,
        accounts=dict(getattr(args, "accounts", None) or {}),
        rate_limit_per_minute=args.rate_limit or None,
        partial_fill_probability=args.partial_fills,
        trigger_count=args.triggers,
        trigger_rate=args.trigger_rate,
        trigger_symbol=args.trigger_symbol.upper(),
        trigger_warmup_s=args.trigger_warmup,
        crypto=tuple(getattr(args, "crypto", ()) or ()),
        crypto_rate=getattr(args, "crypto_rate", 100.0),
        crypto_fee_bps=getattr(args, "crypto_fee_bps", 0.0),
        options=tuple(getattr(args, "options", ()) or ()),
    )


# The simulator's own default credentials: public test values, fine to print. Anything else
# was given on the command line and may be real; it is never echoed.
_PUBLIC_CREDENTIALS = frozenset({"test-key", "test-secret"})


def client_exports(config: VenueConfig, feed_url: str, broker_url: str) -> str:
    """The README's client snippets read their endpoints from the environment; the ports
    here are free ones picked at start, so the documented 8765/8766 would miss them. These
    lines, pasted into a shell, point the snippets at this simulator."""

    def shown(value: str, option: str) -> str:
        # Quoted: pasted, it is a plain (refused) value, never shell syntax.
        return value if value in _PUBLIC_CREDENTIALS else f"'(the {option} you gave)'"

    polygon_key = shown(config.polygon_keys[0], "--polygon-key")
    return (
        "# the README's client snippets: paste these two lines into the shell that runs them\n"
        f"export POLYGON_API_KEY={polygon_key} POLYGON_WS_URL={feed_url}\n"
        f"export ALPACA_API_KEY={shown(config.alpaca_key, '--alpaca-key')} "
        f"ALPACA_API_SECRET={shown(config.alpaca_secret, '--alpaca-secret')} "
        f"ALPACA_BASE_URL={broker_url}"
    )


# ---- Massive REST (issue 24): the options chain snapshot and contracts on their own port, ----
# announced as `rest=<url>` at the end of the ready line (sim/massive_rest/).


def configure_massive_rest(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rest-port", type=port, default=0, help="Massive REST port (0 = any free)"
    )


def massive_rest(
    sim: VenueSimulator, config: VenueConfig, rest_port: int, options: Sequence[str]
) -> MassiveRestServer:
    """The simulator's Massive REST server, over the option chains its feed quotes."""
    return MassiveRestServer(
        sim.option_chains,
        market_spot(sim.market),
        host=config.host,
        port=rest_port,
        api_keys=config.polygon_keys,
        auto_list=options,
        last_trade=market_trades(sim.market),
    )


# ---- end of Massive REST -----------------------------------------------------------------


async def serve(
    config: VenueConfig,
    *,
    busy_poll: bool = False,
    rest_port: int = 0,
    options: Sequence[str] = (),
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    poller = BusyPoller()
    if busy_poll:
        poller.start(loop)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with (
        VenueSimulator(config) as sim,
        massive_rest(sim, config, rest_port, options) as rest,
    ):
        source = sim.start_source()
        print(
            f"tradewire sim ready feed={sim.feed_url} broker={sim.broker_url} rest={rest.url}",
            flush=True,
        )
        print(client_exports(config, sim.feed_url, sim.broker_url), flush=True)
        waiter = loop.create_task(stop.wait())
        if config.replay_files and config.duration_s > 0:
            loop.call_later(config.duration_s, stop.set)
        await asyncio.wait({waiter, source}, return_when=asyncio.FIRST_COMPLETED)
        if source.done() and not source.cancelled() and source.exception() is not None:
            log.error("simulator source failed: %s", source.exception())
            return 1
        if source.done() and config.replay_files:
            # A replay that ran out is not the venue closing: the broker (its orders, fills
            # and positions) and the feed stay up, as Alpaca does when the tape goes quiet,
            # so an engine still trading against them can cancel, reconcile and stop.
            print(
                f"tradewire sim: replay finished ({source.result():,} events); the broker "
                "and the feed stay up until interrupted",
                flush=True,
            )
            await waiter
        waiter.cancel()
    poller.stop()
    print("tradewire sim stopped", flush=True)
    return 0


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    missing = [str(p) for p in args.replay or [] if not (p.is_file() or is_recording(p))]
    if missing:
        print(
            f"tradewire sim: error: --replay: no such flat file or recording: {missing[0]}",
            file=sys.stderr,
        )
        return 2
    config = venue_config(args)
    if any(key == config.alpaca_key for key, _ in config.accounts.values()):
        print(
            "tradewire sim: error: --accounts: a key id is --alpaca-key's (the main account)",
            file=sys.stderr,
        )
        return 2
    rest_port: int = getattr(args, "rest_port", 0)
    options = getattr(args, "options", None) or ()
    underlyings = options.split(",") if isinstance(options, str) else [str(o) for o in options]
    try:
        import uvloop

        return uvloop.run(
            serve(config, busy_poll=args.busy_poll, rest_port=rest_port, options=underlyings)
        )
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.run(
            serve(config, busy_poll=args.busy_poll, rest_port=rest_port, options=underlyings)
        )
    except KeyboardInterrupt:
        return 0
    except OSError as exc:  # a port in use, an address not on this machine
        print(
            f"tradewire sim: error: cannot listen on {args.host} "
            f"(feed port {config.feed_port}, broker port {config.broker_port}): {exc}",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main(argparse.Namespace()))
