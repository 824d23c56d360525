"""``tradewire gateway``: ``tradewire run`` that also serves workers on shared memory / NATS.

It takes the same venue, journal and output options as ``run`` (no keys: the embedded
simulator); its config names the buses (``gateway: {shm: NAME, nats: URL}``) and may list
no strategies of its own. ``--nats-config`` prints the ``authorization`` block that gives
nats-server one fenced user per worker (see :class:`~tradewire.app.config.GatewayNatsConfig`).
"""

from __future__ import annotations

import argparse
import os
import sys

from tradewire.app.buses import gateway_nats_login, make_bus, warn_unauthenticated
from tradewire.app.config import GatewayConfig, GatewayNatsConfig, load_config
from tradewire.app.paths import locate_config
from tradewire.bus.nats_auth import NatsUser, render_authorization
from tradewire.errors import ConfigError, TradewireError
from tradewire.live.gateway import Gateway
from tradewire.live.node import TradingNode


def configure(parser: argparse.ArgumentParser) -> None:
    from tradewire.app import run  # run imports this module: importing it here first works

    run.configure(parser)
    parser.add_argument(
        "--nats-config",
        action="store_true",
        help="print the nats-server authorization block for gateway.nats (no secrets) and exit",
    )


def main(args: argparse.Namespace) -> int:
    if args.nats_config:
        try:
            config = load_config(locate_config(args.config).config).gateway.nats
            if config is None:
                raise ConfigError("gateway.nats is not set")
            print(render_authorization(nats_users(config)))
        except (ConfigError, TradewireError) as exc:
            print(f"tradewire gateway: {exc}", file=sys.stderr)
            return 2
        return 0
    from tradewire.app import run

    return run.main(args, gateway=True)


def nats_users(config: GatewayNatsConfig) -> list[NatsUser]:
    """The gateway's user (every right) and one fenced user per configured worker, their
    passwords referenced by variable name: nats-server reads them from its environment."""
    users = [NatsUser(config.user, password_env=config.password_env)]
    for name, entry in sorted(config.workers.items()):
        if entry.nkey is not None:
            users.append(NatsUser(name, worker=name, nkey=entry.nkey))
        else:
            users.append(NatsUser(name, worker=name, password_env=config.worker_password_env(name)))
    return users


async def start_gateway(node: TradingNode, config: GatewayConfig) -> Gateway:
    buses = []
    for url in config.urls():
        login = None
        if config.nats is not None and url == config.nats.url:
            login = gateway_nats_login(config.nats, os.environ)
            warn_unauthenticated(config.nats, login)
        buses.append(
            make_bus(
                url,
                role="gateway",
                login=login,
                buffer=config.buffer,
                busy_poll=config.busy_poll,
            )
        )
    gateway = Gateway(
        node,
        buses,
        cancel_on_worker_exit=config.cancel_on_worker_exit,
        worker_timeout_s=config.worker_timeout_s,
    )
    await gateway.start()
    print(f"tradewire gateway: serving workers on {', '.join(config.urls())}", flush=True)
    return gateway
