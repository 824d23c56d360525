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
    parser.add_argument("--reason", default="operator kill via CLI")


def main(args: argparse.Namespace) -> int:
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
    body = json.dumps({"reason": args.reason, "flatten": args.flatten}).encode()
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
