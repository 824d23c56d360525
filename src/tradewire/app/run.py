"""``tradewire run``: the main job.

With no credentials it starts the venue simulator in its own process and trades the
configured strategies against it; with keys it trades Alpaca paper (or live, when the
config says so twice) on real Polygon data. A live panel shows the figures; Ctrl-C stops
cleanly (cancelling open orders if configured) and prints a summary.

The process itself is :mod:`tradewire.app.lifecycle`, which ``tradewire gateway`` shares.
"""

from __future__ import annotations

import argparse

from tradewire.app import lifecycle


def configure(parser: argparse.ArgumentParser) -> None:
    lifecycle.add_options(parser)


def main(args: argparse.Namespace) -> int:
    return lifecycle.main(args, gateway=False)
