from __future__ import annotations

import re

import pytest

from tradewire.app.config import AppConfig, load_config, read_credentials, resolve_mode
from tradewire.errors import ConfigError


def test_shipped_config_file_is_valid():
    config = load_config()
    assert config.strategies
    assert config.metrics.port == 9090


def test_unknown_key_names_file_and_path(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("risk:\n  max_order_qty: 10\n  max_ordr_notional: 5\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: risk\.max_ordr_notional: Extra inputs"):
        load_config(path)


def test_bad_value_names_field(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("risk:\n  max_order_qty: -1\n")
    with pytest.raises(ConfigError, match=r"risk\.max_order_qty"):
        load_config(path)


def test_not_yaml_or_not_mapping_is_clear(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(path)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_mode_auto_without_keys_is_sim_and_with_keys_is_paper():
    assert resolve_mode(AppConfig(), read_credentials({})) == "sim"
    creds = read_credentials(
        {"POLYGON_API_KEY": "p", "ALPACA_API_KEY": "k", "ALPACA_API_SECRET": "s"}
    )
    assert resolve_mode(AppConfig(), creds) == "paper"


def test_partial_keys_name_the_missing_variable():
    with pytest.raises(ConfigError, match="ALPACA_API_SECRET"):
        resolve_mode(AppConfig(), read_credentials({"POLYGON_API_KEY": "p", "ALPACA_API_KEY": "k"}))


def test_live_needs_explicit_flag():
    creds = read_credentials(
        {"POLYGON_API_KEY": "p", "ALPACA_API_KEY": "k", "ALPACA_API_SECRET": "s"}
    )
    with pytest.raises(ConfigError, match="allow_live_trading"):
        resolve_mode(AppConfig(mode="live"), creds)
    assert resolve_mode(AppConfig(mode="live", allow_live_trading=True), creds) == "live"


def test_credentials_repr_and_dotenv_never_show_values(tmp_path):
    env = tmp_path / ".env"
    env.write_text("ALPACA_API_SECRET=supersecretvalue\nPOLYGON_API_KEY=pk\nALPACA_API_KEY=ak\n")
    creds = read_credentials({}, dotenv=env)
    assert creds.alpaca_secret is not None
    assert "supersecretvalue" not in repr(creds)
    assert "supersecretvalue" not in repr(creds.alpaca_secret)


def test_metrics_beyond_loopback_need_an_explicit_opt_in(tmp_path):
    # metrics.host: 0.0.0.0 used to bind every interface silently (positions and P&L)
    path = tmp_path / "c.yaml"
    path.write_text("metrics:\n  host: 0.0.0.0\n")
    with pytest.raises(ConfigError, match="allow_remote"):
        load_config(path)
    path.write_text("metrics:\n  host: 0.0.0.0\n  allow_remote: true\n")
    assert load_config(path).metrics.remote


@pytest.mark.parametrize(
    ("symbol", "says"),
    [("", "empty"), ("MS FT", "not a ticker"), ("$X", "not a ticker")],
)
def test_strategy_symbols_are_tickers_as_the_feed_names_them(tmp_path, symbol, says):
    # "" made the feed subscribe to "Q." (a traceback); "MS FT" was accepted and never got
    # data.
    path = tmp_path / "c.yaml"
    path.write_text(f"strategies:\n  - path: x.py:X\n    symbols: [AAPL, '{symbol}']\n")
    with pytest.raises(ConfigError, match=says):
        load_config(path)


def test_a_class_missing_from_the_strategy_file_is_named_as_missing(tmp_path):
    from tradewire.engine.loading import StrategyConfig, load_strategy

    (tmp_path / "mine.py").write_text(
        "from tradewire import Strategy\nclass Other(Strategy):\n    pass\n"
    )
    with pytest.raises(ConfigError, match="no class 'Mine' in"):
        load_strategy(StrategyConfig("mine.py:Mine", ["AAPL"]), base_dir=tmp_path)


@pytest.mark.parametrize("mode", ["", "mode: sim\n", "mode: paper\n", "mode: auto\n"])
def test_broker_live_alone_is_an_error_naming_what_live_needs(tmp_path, mode):
    # Before: broker.live: true was overridden by the mode, and the run traded the
    # simulator or paper and exited 0.
    path = tmp_path / "c.yaml"
    path.write_text(mode + "broker: {live: true}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    said = str(caught.value)
    assert "\n" not in said
    assert "broker.live" in said
    assert "mode: live" in said
    assert "allow_live_trading" in said
    path.write_text("mode: live\nallow_live_trading: true\nbroker: {live: true}\n")
    assert load_config(path).broker.live


@pytest.mark.parametrize(
    ("nats", "says"),
    [
        ("{url: 'nats://10.0.0.5:4222', embedded: true}", "nats://127.0.0.1:PORT"),
        ("{url: 'nats://127.0.0.1:4222', embedded: true, nkey_seed_file: s.nk}", "password"),
    ],
)
def test_an_embedded_nats_server_is_local_and_password_or_open(tmp_path, nats, says):
    path = tmp_path / "c.yaml"
    path.write_text(f"gateway: {{nats: {nats}}}\n")
    with pytest.raises(ConfigError, match=r"gateway\.nats: .*" + re.escape(says)):
        load_config(path)
    path.write_text("gateway: {nats: {url: 'nats://127.0.0.1:4222', embedded: true}}\n")
    assert load_config(path).gateway.nats.embedded  # type: ignore[union-attr]


def test_an_embedded_server_names_the_unset_password_variables():
    from tradewire.app.config import GatewayNatsConfig
    from tradewire.app.wiring import embedded_nats

    config = GatewayNatsConfig(url="nats://127.0.0.1:4222", embedded=True, workers={"mr1": {}})
    with pytest.raises(ConfigError, match=r"\$TRADEWIRE_NATS_PASSWORD_MR1") as caught:
        embedded_nats(config, {"TRADEWIRE_NATS_PASSWORD": "x"})
    assert "\n" not in str(caught.value)


def test_lower_case_symbols_mean_upper_case_in_strategies_and_the_simulator(tmp_path):
    # Before: "symbol 'aapl' must be upper case" (the backtest and the broker took it as is).
    path = tmp_path / "c.yaml"
    path.write_text(
        "simulator: {symbols: [msft, ' nvda']}\n"
        "strategies:\n  - path: x.py:X\n    symbols: [aapl, AAPL, brk.b]\n"
    )
    config = load_config(path)
    assert config.strategies[0].symbols == ["AAPL", "BRK.B"]
    assert config.simulator.symbols == ["MSFT", "NVDA"]
