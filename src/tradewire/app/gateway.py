"""``tradewire gateway``: ``tradewire run`` that also serves workers on shared memory / NATS.

It takes the same venue, journal and output options as ``run`` (no keys: the embedded
simulator); its config names the buses (``gateway: {shm: NAME, nats: URL}``) and may list
no strategies of its own.
"""

from __future__ import annotations

import argparse

from tradewire.app import run
from tradewire.app.buses import make_bus
from tradewire.app.config import GatewayConfig
from tradewire.live.gateway import Gateway
from tradewire.live.node import TradingNode


def configure(parser: argparse.ArgumentParser) -> None:
    run.configure(parser)


def main(args: argparse.Namespace) -> int:
    return run.main(args, gateway=True)


async def start_gateway(node: TradingNode, config: GatewayConfig) -> Gateway:
    buses = [
        make_bus(
            url,
            role="gateway",
            token_env=config.nats_token_env,
            nkey_seed_file=config.nats_nkey_seed_file,
            buffer=config.buffer,
            busy_poll=config.busy_poll,
        )
        for url in config.urls()
    ]
    gateway = Gateway(
        node,
        buses,
        cancel_on_worker_exit=config.cancel_on_worker_exit,
        worker_timeout_s=config.worker_timeout_s,
    )
    await gateway.start()
    print(f"tradewire gateway: serving workers on {', '.join(config.urls())}", flush=True)
    return gateway
