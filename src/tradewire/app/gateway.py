"""``tradewire gateway``: ``tradewire run`` that also serves workers on shared memory / NATS.

It takes the same venue, journal and output options as ``run`` (no keys: the embedded
simulator); its config names the buses (``gateway: {shm: NAME, nats: URL}``) and may list
no strategies of its own. ``--nats-config`` prints the ``authorization`` block that gives
nats-server one fenced user per worker (see :class:`~tradewire.app.config.GatewayNatsConfig`).
"""

from __future__ import annotations

import argparse
import sys

from tradewire.app import lifecycle
from tradewire.app.config import load_config
from tradewire.app.paths import locate_config
from tradewire.app.wiring import nats_users
from tradewire.bus.nats_auth import render_authorization
from tradewire.errors import ConfigError, TradewireError


def configure(parser: argparse.ArgumentParser) -> None:
    lifecycle.add_options(parser)
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
    return lifecycle.main(args, gateway=True)
