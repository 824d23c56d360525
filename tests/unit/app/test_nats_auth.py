"""Findings 4 and 6, config side: per-worker NATS users, and no unauthenticated gateway
unless the config says so (and then a warning)."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from tradewire.app.buses import (
    NatsLogin,
    gateway_nats_login,
    warn_unauthenticated,
    worker_nats_login,
)
from tradewire.app.config import AppConfig, GatewayNatsConfig
from tradewire.app.gateway import nats_users
from tradewire.bus.nats_auth import NatsUser, render_authorization
from tradewire.errors import ConfigError, TradewireError

URL = "nats://10.0.0.5:4222"
SECRET = "s3cret-pw"


def test_a_gateway_without_nats_credentials_refuses_to_start_in_one_line() -> None:
    with pytest.raises(ConfigError) as err:
        gateway_nats_login(GatewayNatsConfig(url=URL), {})
    text = str(err.value)
    assert "\n" not in text
    assert "$TRADEWIRE_NATS_PASSWORD" in text
    assert "allow_unauthenticated: true" in text


def test_allow_unauthenticated_serves_open_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    config = GatewayNatsConfig(url=URL, allow_unauthenticated=True)
    login = gateway_nats_login(config, {})
    assert login == NatsLogin()
    with caplog.at_level(logging.WARNING):
        warn_unauthenticated(config, login)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "WITHOUT authentication" in warnings[0].getMessage()
    assert "10.0.0.5:4222" in warnings[0].getMessage()


def test_credentials_mean_no_warning_and_no_secret_in_reprs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = GatewayNatsConfig(url=URL, allow_unauthenticated=True, password_env="GW_PW")
    login = gateway_nats_login(config, {"GW_PW": SECRET})
    assert login == NatsLogin("gateway", SECRET)
    with caplog.at_level(logging.WARNING):
        warn_unauthenticated(config, login)
    assert not caplog.records
    assert SECRET not in repr(login)
    assert SECRET not in repr(NatsUser("gateway", password=SECRET))


def test_a_worker_logs_in_as_its_name() -> None:
    assert worker_nats_login("alpha", {"TRADEWIRE_NATS_PASSWORD": SECRET}) == NatsLogin(
        "alpha", SECRET
    )
    assert worker_nats_login("alpha", {}) == NatsLogin()


def test_the_url_alone_is_still_a_nats_config() -> None:
    config = AppConfig.model_validate({"gateway": {"nats": URL}})
    assert config.gateway.nats == GatewayNatsConfig(url=URL)
    assert config.gateway.urls() == [URL]


@pytest.mark.parametrize(
    "nats",
    [
        {"url": URL, "workers": {"a.b": {}}},  # a dot would reach into other subjects
        {"url": URL, "workers": {"gateway": {}}},  # the gateway's own user
        {"url": URL, "workers": {"a": {"nkey": "SUAB" + "C" * 52}}},  # a seed, not a key
        {"url": URL, "workers": {"a": {"password": SECRET}}},  # secrets never in YAML
    ],
)
def test_bad_worker_entries_are_refused(nats: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        AppConfig.model_validate({"gateway": {"nats": nats}})


def test_the_printed_authorization_fences_each_worker_and_holds_no_secret() -> None:
    config = GatewayNatsConfig(url=URL, workers={"alpha": {}, "be-ta": {"password_env": "BETA_PW"}})
    text = render_authorization(nats_users(config))
    assert '{user: "gateway", password: $TRADEWIRE_NATS_PASSWORD}' in text
    assert "password: $TRADEWIRE_NATS_PASSWORD_ALPHA" in text
    assert "password: $BETA_PW" in text
    assert '"publish": {"allow": ["tw.hello.alpha", "tw.intent.alpha"]}' in text
    assert '"subscribe": {"allow": ["tw.md", "tw.ctl", "tw.upd.alpha"]}' in text
    assert text.count("permissions") == 2  # the gateway has every right


def test_a_user_takes_exactly_one_way_to_authenticate() -> None:
    with pytest.raises(TradewireError):
        NatsUser("a", worker="a")
    with pytest.raises(TradewireError):
        NatsUser("a", worker="a", password="x", password_env="X")
    with pytest.raises(TradewireError):
        NatsUser("a.b", worker="a.b", password="x")
