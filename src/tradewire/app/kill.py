"""``tradewire kill``: engage the kill switch of a running engine over its loopback endpoint."""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from tradewire.app.control import check_private
from tradewire.errors import ConfigError
from tradewire.net.loopback import LOOPBACK_HOSTS


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url", default="http://127.0.0.1:9091/kill", help="the engine's kill endpoint"
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        default=None,
        help="token file (default: $TRADEWIRE_CONTROL_TOKEN, else control.token in the "
        "journal folder of the config's project)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="the engine's config, to find its token (default as for tradewire run)",
    )
    parser.add_argument("--flatten", action="store_true", help="also close every position")
    parser.add_argument(
        "--group",
        action="store_true",
        help="reach the active gateway of the config's failover group (gateway.ha) over NATS, "
        "wherever it runs, with the gateway's NATS login",
    )
    parser.add_argument("--reason", default="operator kill via CLI")
    parser.add_argument(
        "--account",
        default=None,
        help="kill only this account of a run with several (accounts:); default: every one",
    )


def main(args: argparse.Namespace) -> int:
    if args.group:
        return _kill_group(args)
    token = os.environ.get("TRADEWIRE_CONTROL_TOKEN", "").strip()
    if not token:
        try:
            path = args.token_file or _token_file(args.config)
        except ConfigError as exc:
            print(
                f"tradewire kill: no token: set TRADEWIRE_CONTROL_TOKEN, pass --token-file "
                f"or --config ({exc})",
                file=sys.stderr,
            )
            return 2
        if not path.exists():
            print(
                f"tradewire kill: no token: set TRADEWIRE_CONTROL_TOKEN or pass --token-file ({path} missing)",
                file=sys.stderr,
            )
            return 2
        try:
            check_private(path)
        except ConfigError as exc:
            print(f"tradewire kill: {exc}", file=sys.stderr)
            return 2
        token = path.read_text(encoding="utf-8").strip()
    request = {"reason": args.reason, "flatten": args.flatten}
    if args.account is not None:
        request["account"] = args.account
    body = json.dumps(request).encode()
    # Parsed, not matched as a prefix: http://127.0.0.1:9091@evil/kill goes to "evil".
    url = urlsplit(args.url)
    if (
        url.scheme != "http"
        or url.hostname not in LOOPBACK_HOSTS
        or url.username is not None
        or url.password is not None
    ):
        print(f"tradewire kill: the control endpoint is loopback-only: {args.url}", file=sys.stderr)
        return 2
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    # The URL was parsed and checked to be loopback http just above.
    req = urllib.request.Request(args.url, data=body, method="POST", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310
            print(resp.read().decode())
    except urllib.error.HTTPError as exc:
        text = exc.read().decode(errors="replace")
        if exc.code == 503:
            # The kill switch is engaged but something stayed live: say what.
            print(text)
            print(f"tradewire kill: incomplete: {_still_live(text)}", file=sys.stderr)
        else:
            print(
                f"tradewire kill: {args.url} answered {exc.code}: {text.strip()}", file=sys.stderr
            )
        return 1
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ConnectionRefusedError):
            print(
                f"tradewire kill: no engine answers at {args.url} (connection refused); "
                "is `tradewire run` running with its control endpoint?",
                file=sys.stderr,
            )
        else:
            print(f"tradewire kill: {args.url}: {exc.reason}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"tradewire kill: {args.url}: {exc}", file=sys.stderr)
        return 1
    return 0


def _token_file(config: Path | None) -> Path:
    """``tradewire run`` writes the token beside its journals, in the config's project."""
    from tradewire.app.config import load_config
    from tradewire.app.paths import locate_config

    project = locate_config(config)
    return project.resolve(load_config(project.config).journal.path) / "control.token"


def _still_live(body: str) -> str:
    try:
        result = json.loads(body)
    except ValueError:
        return body.strip()
    parts = []
    if result.get("still_open"):
        parts.append(f"orders still open: {', '.join(result['still_open'])}")
    if result.get("positions_left"):
        parts.append(f"positions left: {result['positions_left']}")
    if result.get("error"):
        parts.append(str(result["error"]))
    return "; ".join(parts) or body.strip()


def _kill_group(args: argparse.Namespace) -> int:
    """The kill of a failover group: a NATS request only its active gateway answers."""
    import asyncio

    from tradewire.app.buses import gateway_nats_login
    from tradewire.app.config import load_config
    from tradewire.app.ha import connect, kill_subject
    from tradewire.app.paths import locate_config
    from tradewire.errors import TradewireError

    try:
        config = load_config(locate_config(args.config).config)
        ha, nats = config.gateway.ha, config.gateway.nats
        if ha is None or nats is None:
            raise ConfigError("--group: the config names no failover group (gateway.ha)")
        login = gateway_nats_login(nats, os.environ)
    except ConfigError as exc:
        print(f"tradewire kill: {exc}", file=sys.stderr)
        return 2
    body = json.dumps({"reason": args.reason, "flatten": args.flatten}).encode()

    async def ask() -> bytes:
        nc = await connect(ha.nats or nats.url, login, "tradewire-kill")
        try:
            reply = await nc.request(kill_subject(ha.group), body, timeout=60)
            return bytes(reply.data)
        finally:
            await nc.close()

    try:
        answer = asyncio.run(ask())
    except TradewireError as exc:
        print(f"tradewire kill: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # nats-py's timeout and no-responders errors
        print(
            f"tradewire kill: no active gateway of group {ha.group} answered "
            f"({type(exc).__name__})",
            file=sys.stderr,
        )
        return 1
    print(answer.decode(errors="replace"))
    result = json.loads(answer) if answer.startswith(b"{") else {}
    if result.get("still_open") or result.get("positions_left") or result.get("error"):
        print(f"tradewire kill: incomplete: {_still_live(answer.decode())}", file=sys.stderr)
        return 1
    return 0
