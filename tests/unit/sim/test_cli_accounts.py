"""``tradewire sim --accounts NAME:KEY:SECRET,...``: extra broker accounts (issue 25)."""

from __future__ import annotations

import argparse

import pytest

from tradewire.sim import cli
from tradewire.sim.venue import VenueConfig, VenueSimulator


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.configure(parser)
    return parser.parse_args(list(argv))


def test_accounts_reach_the_venue_config_and_the_broker() -> None:
    config = cli.venue_config(_parse("--accounts", "alpha:ka:sa,beta:kb:sb"))
    assert dict(config.accounts) == {"alpha": ("ka", "sa"), "beta": ("kb", "sb")}
    broker = VenueSimulator(config).broker
    assert list(broker.accounts) == ["main", "alpha", "beta"]
    assert broker.accounts["beta"].key_id == "kb"


def test_no_extra_accounts_by_default() -> None:
    assert dict(cli.venue_config(_parse()).accounts) == {}
    assert dict(VenueConfig().accounts) == {}


@pytest.mark.parametrize(
    "spec",
    ["alpha", "alpha:ka", ":ka:sa", "alpha:ka:", "a:k:s,a:k2:s2", "a:k:s,b:k:t", "main:k:s"],
)
def test_a_bad_accounts_spec_is_an_argparse_error(
    spec: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        _parse("--accounts", spec)
    assert exc.value.code == 2
    assert "argument --accounts" in capsys.readouterr().err


def test_a_refused_spec_never_echoes_a_secret(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parse("--accounts", "a:k:topsecret,a:k2:othersecret")
    err = capsys.readouterr().err
    assert "topsecret" not in err
    assert "othersecret" not in err
