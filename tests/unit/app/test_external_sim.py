"""``tradewire run`` against an already running simulator (``--sim-feed-url``,
``--sim-broker-url``) with option chains (issue 24): ``--sim-rest-url`` names the
simulator's Massive REST port. Before, the wiring read an argument the parser never defined,
so an external simulator's chains were never fetched (``option_chain`` answered ``[]``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tradewire.app import run
from tradewire.app.config import AppConfig
from tradewire.app.wiring import open_venues


def _args(*extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    run.configure(parser)
    return parser.parse_args(
        [
            *("--sim-feed-url", "ws://127.0.0.1:1", "--sim-broker-url", "http://127.0.0.1:2"),
            *("--journal", "j.twj", *extra),
        ]
    )


async def test_the_external_simulators_rest_url_reaches_the_venues() -> None:
    args = _args("--sim-rest-url", "http://127.0.0.1:3")
    venues, journal, sim = await open_venues(AppConfig(), None, "sim", args)
    assert sim is None
    assert venues.rest_url == "http://127.0.0.1:3"
    assert venues.stream_url == "ws://127.0.0.1:2/stream"
    assert journal == Path("j.twj")


async def test_without_it_no_chains_are_fetched() -> None:
    venues, _, _ = await open_venues(AppConfig(), None, "sim", _args())
    assert venues.rest_url == ""
