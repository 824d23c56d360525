"""The venue settings never show a key (issue 11: dataclasses.asdict held all three)."""

from __future__ import annotations

import dataclasses

from tradewire.live.node import Venues


def test_asdict_and_repr_of_the_venue_settings_hold_no_key():
    venues = Venues(
        "paper",
        "wss://feed",
        "https://broker",
        "wss://stream",
        "pk-SECRET-1",
        "ak-SECRET-2",
        "as-SECRET-3",
    )
    shown = repr(dataclasses.asdict(venues)) + repr(venues) + str(venues)
    for secret in ("pk-SECRET-1", "ak-SECRET-2", "as-SECRET-3"):
        assert secret not in shown
    assert venues.alpaca_secret.get_secret_value() == "as-SECRET-3"  # type: ignore[union-attr]
