"""``tradewire`` command line: run | gateway | worker | sim | record | backtest | bench | kill |
doctor | journal.

Each subcommand lives in the module that owns it and exposes ``configure(parser)`` and
``main(args) -> int``; this file only routes, so ``tradewire --help`` stays cheap.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# What `tradewire --help` says first. Not the module docstring: that is reST for developers,
# and its first line alone was cut mid-list ("... | kill |").
DESCRIPTION = (
    "Low-latency trading gateway: Polygon/Massive market data in, Alpaca orders out; "
    "without keys, against the built-in venue simulator. "
    "Run `tradewire COMMAND --help` for a command's options."
)

# subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("tradewire.app.run", "trade the configured strategies (simulator when no keys)"),
    "gateway": (
        "tradewire.app.gateway",
        "run the engine as a gateway: one feed and account, strategies in worker processes",
    ),
    "worker": ("tradewire.app.worker", "run strategies in their own process against a gateway"),
    "sim": ("tradewire.sim.cli", "run the local venue simulator (Polygon feed + Alpaca broker)"),
    "bench": (
        "tradewire.bench.cli",
        "tick-to-trade, throughput and order round trip, ours vs the official SDKs",
    ),
    "record": ("tradewire.record.cli", "capture a Polygon feed to disk for replay and backtest"),
    "kill": ("tradewire.app.kill", "engage the kill switch of a running engine"),
    "backtest": (
        "tradewire.app.backtest",
        "run a strategy on a recording or Polygon flat files, on simulated time",
    ),
    "doctor": ("tradewire.doctor.cli", "audit this host for low-latency trading"),
    "journal": (
        "tradewire.app.journal",
        "show, export, verify or repair an order journal (repair keeps the original)",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tradewire",
        description=DESCRIPTION,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.configure(sub_parser)
        sub_parser.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        code: int = args._module.main(args)
    except KeyboardInterrupt:
        # Ctrl-C while the command was still loading (imports, config): one line, not a
        # traceback from whatever module was being imported. Exit 130 as a shell expects.
        print("tradewire: interrupted (Ctrl-C) while starting", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
