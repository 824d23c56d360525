"""``tradewire sim --crypto``: pairs in any form reach the VenueConfig as BTC/USD (issue 23)."""

from __future__ import annotations

import argparse

import pytest

from tradewire.sim import cli


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.configure(parser)
    return parser.parse_args(list(argv))


def test_crypto_pairs_in_any_form_become_order_form_pairs() -> None:
    config = cli.venue_config(_parse("--crypto", "BTC/USD,ethusd,SOL-USD,BTCUSD"))
    assert tuple(config.crypto) == ("BTC/USD", "ETH/USD", "SOL/USD")


def test_no_crypto_by_default() -> None:
    config = cli.venue_config(_parse())
    assert tuple(config.crypto) == ()
    assert config.crypto_rate == 100.0


def test_crypto_rate_flag() -> None:
    assert cli.venue_config(_parse("--crypto", "BTC/USD", "--crypto-rate", "5")).crypto_rate == 5


def test_a_bad_pair_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        _parse("--crypto", "BTC/USD,??")
    assert exc.value.code == 2
    assert "--crypto" in capsys.readouterr().err


def test_crypto_fee_flag_reaches_the_broker() -> None:
    from decimal import Decimal

    from tradewire.sim.venue import VenueSimulator

    config = cli.venue_config(_parse("--crypto", "BTC/USD", "--crypto-fee-bps", "25"))
    assert config.crypto_fee_bps == 25
    assert VenueSimulator(config).broker.book.crypto_fee_rate == Decimal("0.0025")
    assert VenueSimulator(cli.venue_config(_parse())).broker.book.crypto_fee_rate == 0
