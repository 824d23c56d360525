"""Application config: ``config/trading_apis.yaml`` plus secrets from the environment / ``.env``.

Each component owns its ``<Component>Config``; this module only composes them, decides the
mode (local simulator, paper or live) and turns every validation failure into one
``ConfigError`` that names the file and the dotted path of the bad key. Secrets never come
from YAML: they are read from the environment, so a config file can be committed safely.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator

from tradewire.app.accounts import AccountConfig, check_account_names
from tradewire.app.yaml_load import load_yaml_file
from tradewire.bus.nats_auth import WORKER_NAME
from tradewire.configbase import (
    ALPACA_KEY_VARS,
    ALPACA_SECRET_VARS,
    POLYGON_KEY_VARS,
    Int,
    NonNegativeFloat,
    NonNegativeInt,
    Port,
    PositiveFloat,
    PositiveInt,
    StrictModel,
    describe_validation_error,
    load_dotenv_file,
)
from tradewire.engine.config import JournalConfig, RiskConfig
from tradewire.engine.symbols import normalize_symbols
from tradewire.errors import ConfigError
from tradewire.metrics.config import MetricsConfig
from tradewire.tuning.config import TuningConfig
from tradewire.venues.alpaca.config import AlpacaBrokerConfig
from tradewire.venues.polygon.config import PolygonFeedConfig

DEFAULT_CONFIG_PATH = Path("config/trading_apis.yaml")

ALPACA_KEY_VAR = ALPACA_KEY_VARS[0]
ALPACA_SECRET_VAR = ALPACA_SECRET_VARS[0]

Mode = Literal["auto", "sim", "paper", "live"]


class StrategyEntry(StrictModel):
    """One strategy to load: ``path`` is ``package.module:Class`` or ``file.py:Class``."""

    path: str
    symbols: list[str] = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    name: str | None = None
    account: str | None = None  # one of ``accounts`` (default: the first)

    @field_validator("symbols")
    @classmethod
    def _tickers(cls, symbols: list[str]) -> list[str]:
        # The feed names tickers in upper case: aapl means AAPL (engine.symbols, one rule).
        return normalize_symbols(symbols)


class SimulatorConfig(StrictModel):
    """The local venue simulator that ``run`` starts when no credentials are present."""

    symbols: list[str] = Field(
        default_factory=lambda: ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "SPY"]
    )
    rate: PositiveFloat = 2_000.0
    seed: Int = 7
    extra_args: list[str] = Field(default_factory=list)

    @field_validator("symbols")
    @classmethod
    def _tickers(cls, symbols: list[str]) -> list[str]:
        return normalize_symbols(symbols)


class OptionsConfig(StrictModel):
    """Option chains (issue 24): the underlyings whose chains are fetched from Massive's
    snapshot before the strategies start (``Strategy.option_chain`` answers from them at
    once; any other underlying is fetched the first time a strategy asks), and how old a
    chain may grow before it is fetched again. ``tradewire run`` with no keys lists these
    chains on the simulator (``tradewire sim --options``)."""

    underlyings: list[str] = Field(default_factory=list)
    chain_refresh_s: PositiveFloat = 60.0

    @field_validator("underlyings")
    @classmethod
    def _tickers(cls, symbols: list[str]) -> list[str]:
        return normalize_symbols(symbols)


class ControlConfig(StrictModel):
    """Kill-switch HTTP endpoint: loopback only, guarded by a bearer token from the environment."""

    enabled: bool = True
    host: Literal["127.0.0.1", "::1", "localhost"] = "127.0.0.1"
    port: Port = 9091
    token_env: str = "TRADEWIRE_CONTROL_TOKEN"  # noqa: S105 - a variable name


class RunConfig(StrictModel):
    """How ``tradewire run`` behaves around the trading session."""

    cancel_open_orders_on_stop: bool = True
    flatten_on_kill: bool = False
    panel: bool = True
    panel_refresh_s: PositiveFloat = 0.5
    # Start-up recovery and each reconciliation round retry broker reads this long.
    reconcile_timeout_s: PositiveFloat = 10.0
    # Open orders and positions are compared with the broker this often while orders are
    # open (every sixth interval otherwise), and after every trade_updates gap.
    reconcile_interval_s: PositiveFloat = 5.0
    # Cancel-all and flatten (kill switch, stop) retry until verified, at most this long.
    finish_timeout_s: PositiveFloat = 15.0
    duration_s: NonNegativeFloat = 0.0
    # A strategy whose callbacks raise this many times within the window is stopped and
    # its orders cancelled (0: never); the first error is logged in full, the rest counted.
    strategy_max_errors: NonNegativeInt = 20
    strategy_error_window_s: PositiveFloat = 60.0


class NatsWorkerAuth(StrictModel):
    """One worker's NATS user, named as the worker: see :class:`GatewayNatsConfig`."""

    # The variable nats-server reads this worker's password from (default
    # TRADEWIRE_NATS_PASSWORD_<NAME>, the name upper-cased, - as _); the worker process
    # itself reads its password from $TRADEWIRE_NATS_PASSWORD.
    password_env: str | None = None
    nkey: str | None = None  # or the worker's public nkey (U…): it runs with --nats-nkey-seed

    @field_validator("nkey")
    @classmethod
    def _public(cls, nkey: str | None) -> str | None:
        if nkey is not None and not (nkey.startswith("U") and len(nkey) == 56):
            raise ValueError("nkey is a user's public key (U…, 56 characters), never its seed")
        return nkey


class GatewayNatsConfig(StrictModel):
    """The NATS bus, with one nats-server user per worker that the server itself fences.

    A worker's user is the worker's name; nats-server lets it publish only on
    ``tw.hello.<name>`` and ``tw.intent.<name>`` and subscribe only to ``tw.md``, ``tw.ctl``
    and ``tw.upd.<name>`` (:mod:`tradewire.bus.nats_auth`), so no worker reads another's
    fills or trades as another; the gateway's own user (``user``) has every right. Passwords
    never sit in YAML: the gateway reads its own from ``$password_env``; nats-server reads each
    worker's from the variable its entry names (``tradewire gateway --nats-config`` prints the
    ``authorization`` block to give nats-server, with ``$VARIABLE`` references, no secret);
    each worker process reads its own from ``$TRADEWIRE_NATS_PASSWORD`` and logs in as its name.

    The gateway refuses to start without its credentials (``$password_env`` set, or
    ``nkey_seed_file``) unless ``allow_unauthenticated: true``, which it warns about: an open
    server lets anyone who reaches the port read every fill and trade as any worker.

    ``gateway: {nats: nats://HOST:PORT}`` is short for ``{nats: {url: nats://HOST:PORT}}``.

    ``embedded: true`` has the gateway start a nats-server of its own (the one the venv ships)
    on the URL's port, with this very authorization, and stop it when the gateway stops:
    one process less to run on a single host. It listens on 127.0.0.1 only.
    """

    url: str
    user: str = "gateway"
    password_env: str = "TRADEWIRE_NATS_PASSWORD"  # noqa: S105 - a variable name
    nkey_seed_file: Path | None = None  # nkey auth instead of a password (0600 file)
    workers: dict[str, NatsWorkerAuth] = Field(default_factory=dict)
    allow_unauthenticated: bool = False
    embedded: bool = False

    @field_validator("workers")
    @classmethod
    def _names(cls, workers: dict[str, NatsWorkerAuth]) -> dict[str, NatsWorkerAuth]:
        for name in workers:
            if not WORKER_NAME.fullmatch(name):
                raise ValueError(f"worker {name!r}: letters, digits, - and _ only")
        return workers

    @model_validator(mode="after")
    def _gateway_is_no_worker(self) -> GatewayNatsConfig:
        if self.user in self.workers:
            raise ValueError(f"worker {self.user!r} has the gateway's user name")
        if self.embedded:
            where = urlsplit(self.url)
            if where.hostname not in ("127.0.0.1", "localhost") or where.port is None:
                raise ValueError("embedded: the URL is nats://127.0.0.1:PORT (it listens there)")
            if self.nkey_seed_file is not None:
                raise ValueError(
                    "embedded: the gateway logs in to its own server by password "
                    "(password_env) or not at all; nkey_seed_file is for a server you run"
                )
        return self

    def worker_password_env(self, name: str) -> str:
        entry = self.workers.get(name)
        if entry is not None and entry.password_env:
            return entry.password_env
        return "TRADEWIRE_NATS_PASSWORD_" + name.upper().replace("-", "_")


class HaConfig(StrictModel):
    """A failover group (issue 25): every gateway started with the same ``group`` competes
    for one lease in a JetStream key-value bucket on the gateway's NATS server (JetStream on);
    the holder trades, the others follow its journal (a JetStream stream) with their venue
    connections cold, and take over when its lease lapses.

    ``lease_s``: how long a lease lasts unrenewed; it is renewed every ``lease_s / 3``.
    ``margin_s`` (default ``lease_s / 4``): the active stops sending orders this long BEFORE
    its lease could be taken, on its own monotonic clock; a standby takes it only after seeing
    it unrenewed for ``lease_s + margin_s`` on its own clock. No wall clocks are compared: the
    clocks may differ by any offset, and their rates by less than ``margin_s / lease_s``.
    ``holder``: this gateway's name in the group (default ``HOST-PID``).
    """

    group: str = "tradewire"
    lease_s: PositiveFloat = 2.0
    margin_s: PositiveFloat | None = None
    nats: str | None = None  # default: gateway.nats.url, with the gateway's NATS login
    holder: str | None = None
    journal_max_age_s: PositiveFloat = 7 * 24 * 3600.0

    @field_validator("group")
    @classmethod
    def _group(cls, group: str) -> str:
        if not WORKER_NAME.fullmatch(group):
            raise ValueError(f"group {group!r}: letters, digits, - and _ only")
        return group

    @model_validator(mode="after")
    def _margin(self) -> HaConfig:
        if self.margin_s is not None and self.margin_s >= self.lease_s / 3:
            raise ValueError(f"margin_s {self.margin_s} must be below lease_s / 3")
        return self

    @property
    def margin(self) -> float:
        return self.margin_s if self.margin_s is not None else self.lease_s / 4


class GatewayConfig(StrictModel):
    """The buses ``tradewire gateway`` serves workers on (either or both)."""

    shm: str | None = None  # a name: workers connect with shm://NAME
    nats: GatewayNatsConfig | None = None  # or just the URL: nats://HOST:PORT
    cancel_on_worker_exit: bool = True
    worker_timeout_s: PositiveFloat = 3.0
    # Messages buffered per worker (each bus): beyond it, that worker's messages are dropped
    # (counted, told to it, seen as a sequence gap), and no one else waits.
    buffer: PositiveInt = 4096
    # shm: spin on the workers' channels instead of waiting for a wake-up (one core busy).
    busy_poll: bool = False
    ha: HaConfig | None = None  # a failover group (needs gateway.nats)

    @model_validator(mode="after")
    def _ha_needs_nats(self) -> GatewayConfig:
        if self.ha is not None and self.nats is None:
            raise ValueError("gateway.ha needs gateway.nats (the lease and the journal live there)")
        return self

    @field_validator("nats", mode="before")
    @classmethod
    def _url_alone(cls, value: Any) -> Any:
        return {"url": value} if isinstance(value, str) else value

    def urls(self) -> list[str]:
        return ([f"shm://{self.shm}"] if self.shm else []) + ([self.nats.url] if self.nats else [])


class WorkerConfig(StrictModel):
    """``tradewire worker --config``: where the gateway is."""

    gateway: str | None = None
    # Behind the feed, deliver only the newest quote per symbol (trades and bars all).
    conflate: bool = False


class AppConfig(StrictModel):
    """Everything ``tradewire run`` needs. Unknown keys anywhere are errors."""

    mode: Mode = "auto"
    allow_live_trading: bool = False
    feed: PolygonFeedConfig = Field(default_factory=PolygonFeedConfig)
    broker: AlpacaBrokerConfig = Field(default_factory=AlpacaBrokerConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    journal: JournalConfig = Field(default_factory=JournalConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    simulator: SimulatorConfig = Field(default_factory=SimulatorConfig)
    control: ControlConfig = Field(default_factory=ControlConfig)
    run: RunConfig = Field(default_factory=RunConfig)
    tuning: TuningConfig = Field(default_factory=TuningConfig)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    worker: WorkerConfig = Field(default_factory=WorkerConfig)
    options: OptionsConfig = Field(default_factory=OptionsConfig)
    accounts: dict[str, AccountConfig] = Field(default_factory=dict)
    strategies: list[StrategyEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _accounts(self) -> AppConfig:
        check_account_names(self.accounts)
        if len(self.accounts) > 1 and self.gateway.ha is not None:
            raise ValueError("accounts: a failover group trades one account (for now)")
        for entry in self.strategies:
            if entry.account is not None and entry.account not in self.accounts:
                known = ", ".join(self.accounts) or "none: set accounts"
                raise ValueError(
                    f"strategy {entry.name or entry.path}: account {entry.account!r} is not "
                    f"one of the accounts ({known})"
                )
        return self

    def account_of(self, entry: StrategyEntry) -> str:
        """The account a strategy trades in (the first when it names none)."""
        return entry.account or next(iter(self.accounts), "main")


class Credentials:
    """Keys read from the environment. ``repr`` shows only which keys are present."""

    def __init__(
        self,
        polygon_key: SecretStr | None,
        alpaca_key: SecretStr | None,
        alpaca_secret: SecretStr | None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.polygon_key = polygon_key
        self.alpaca_key = alpaca_key
        self.alpaca_secret = alpaca_secret
        self._env = dict(env or {})  # for the accounts' own variables; never shown

    def secret(self, name: str) -> SecretStr | None:
        """The value of environment variable ``name`` (``.env`` included), as a secret."""
        value = self._env.get(name, "").strip()
        return SecretStr(value) if value else None

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.polygon_key, self.alpaca_key, self.alpaca_secret))

    def missing_for_venues(self) -> list[str]:
        missing = []
        if self.polygon_key is None:
            missing.append(POLYGON_KEY_VARS[0])
        if self.alpaca_key is None:
            missing.append(ALPACA_KEY_VAR)
        if self.alpaca_secret is None:
            missing.append(ALPACA_SECRET_VAR)
        return missing

    def __repr__(self) -> str:
        have = [n for n, v in self._named() if v is not None]
        return f"Credentials(present={have})"

    def _named(self) -> list[tuple[str, SecretStr | None]]:
        return [
            (POLYGON_KEY_VARS[0], self.polygon_key),
            (ALPACA_KEY_VAR, self.alpaca_key),
            (ALPACA_SECRET_VAR, self.alpaca_secret),
        ]


def read_credentials(
    env: dict[str, str] | None = None, *, dotenv: Path | None = None
) -> Credentials:
    """Read keys from ``env`` (default: ``os.environ``) overlaid on a ``.env`` file."""
    merged: dict[str, str] = {}
    if dotenv is not None:
        merged.update(load_dotenv_file(dotenv))
    merged.update(env if env is not None else os.environ)

    def get(*names: str) -> SecretStr | None:
        for name in names:
            value = merged.get(name, "").strip()
            if value:
                return SecretStr(value)
        return None

    return Credentials(
        get(*POLYGON_KEY_VARS), get(*ALPACA_KEY_VARS), get(*ALPACA_SECRET_VARS), merged
    )


def load_config(path: Path | None = None) -> AppConfig:
    """Load and validate the YAML config; a missing default file means all defaults.

    Raises:
        ConfigError: the file is unreadable, not UTF-8, not YAML, has a duplicate key, is
            not a mapping, or fails validation; the message names the file and each bad
            key's dotted path (or line, for what is wrong before validation).
    """
    explicit = path is not None
    path = path or DEFAULT_CONFIG_PATH
    if not path.exists():
        if explicit:
            raise ConfigError(f"{path}: config file not found")
        return AppConfig()
    raw = load_yaml_file(path)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(raw).__name__}")
    try:
        config = AppConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, source=str(path))) from None
    if config.broker.live and config.mode != "live":
        # The run picks the host from ``mode`` alone; a ``broker.live`` it overrode used to
        # trade the simulator or paper and exit 0, which reads as "live worked".
        raise ConfigError(
            f"{path}: broker.live: true cannot take effect on its own: live trading is "
            "mode: live with allow_live_trading: true (and then broker.live is not needed)"
        )
    return config


def resolve_mode(config: AppConfig, creds: Credentials) -> Literal["sim", "paper", "live"]:
    """Pick where to trade. ``auto`` means: real venues when any key is present, else the simulator.

    Live money needs both ``mode: live`` and ``allow_live_trading: true``; a partial set of
    keys is an error naming the missing variables rather than a silent fall back to the sim.
    """
    mode = config.mode
    if mode == "auto":
        mode = "paper" if creds.any else "sim"
    if mode == "sim":
        return "sim"
    missing = creds.missing_for_venues()
    if missing:
        raise ConfigError(
            f"mode {mode!r} needs credentials: set {', '.join(missing)} in the environment or .env "
            "(or set mode: sim to use the local simulator)"
        )
    if mode == "live" and not config.allow_live_trading:
        raise ConfigError(
            "mode 'live' trades real money: set allow_live_trading: true in the config to confirm"
        )
    return mode
