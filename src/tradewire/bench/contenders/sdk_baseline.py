"""The tick-to-trade baseline: the same bench strategy written with the official SDKs.

massive's ``WebSocketClient`` and alpaca-py's ``TradingClient``, used the way their READMEs
show (``ws.run(handle_msg)``; ``trading_client.submit_order(LimitOrderRequest(...))`` inside
the handler), with only the URLs pointed at the simulator. It answers the triggers of
:mod:`tradewire.sim.triggers` exactly as :class:`~tradewire.bench.trigger_strategy.TriggerStrategy`
does, so the simulator times both with the same clock.

Run as ``python src/tradewire/bench/contenders/sdk_baseline.py FEED_HOST BROKER_URL SYMBOLS``
by the bench (by this file's path);
it runs until it is signalled.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from tradewire.bench.extras import INSTALL_HINT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sdk_baseline.py")
    parser.add_argument("feed_host", help="host:port of the feed simulator")
    parser.add_argument("broker_url", help="http://host:port of the broker simulator")
    parser.add_argument("symbols", help="comma-separated background symbols to subscribe")
    parser.add_argument("--trigger-symbol", default="TRIG")
    parser.add_argument("--key", default="test-key")
    parser.add_argument("--secret", default="test-secret")
    args = parser.parse_args(argv)

    # The bench checks for the SDKs before it starts this process; run by hand on a base
    # install, say what to install rather than end in a traceback.
    try:
        from alpaca.trading.client import TradingClient
        from alpaca.trading.enums import OrderSide, TimeInForce
        from alpaca.trading.requests import LimitOrderRequest
        from massive import WebSocketClient
        from massive.websocket.models import EquityQuote
    except ImportError as exc:
        print(f"{parser.prog}: {exc}; {INSTALL_HINT}", file=sys.stderr)
        return 2

    trading = TradingClient(args.key, args.secret, paper=True, url_override=args.broker_url)
    trading.get_account()  # the documented first call; also opens the keep-alive session
    trigger = args.trigger_symbol
    tag = f"sdk{os.getpid()}"
    symbols = [s for s in args.symbols.split(",") if s] + [trigger]

    def handle_msg(msgs: list[Any]) -> None:
        for m in msgs:
            if not isinstance(m, EquityQuote) or m.symbol != trigger:
                continue
            k = m.sequence_number or 0
            buy = k % 2 == 0
            trading.submit_order(
                LimitOrderRequest(
                    symbol=m.symbol,
                    qty=1,
                    side=OrderSide.BUY if buy else OrderSide.SELL,
                    time_in_force=TimeInForce.DAY,
                    limit_price=m.ask_price if buy else m.bid_price,
                    client_order_id=f"{tag}-t{k}",
                )
            )

    ws = WebSocketClient(
        api_key=args.key,
        feed=args.feed_host,
        market="stocks",
        secure=False,
        subscriptions=[f"Q.{s}" for s in symbols],
        max_reconnects=0,
    )
    print("sdk baseline ready", flush=True)
    ws.run(handle_msg=handle_msg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
