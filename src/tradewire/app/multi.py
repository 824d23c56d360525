"""Building the engines of several Alpaca accounts in one ``run`` (:mod:`tradewire.app.accounts`).

One :class:`~tradewire.live.node.TradingNode` per account, each with its strategies, its key
pair, its risk limits, its journal; the first holds the feed and the others follow it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from tradewire.app.accounts import account_journal, sim_key_pair
from tradewire.app.config import AppConfig, Credentials
from tradewire.app.wiring import build_node
from tradewire.errors import ConfigError
from tradewire.live.node import TradingNode
from tradewire.live.venues import Venues
from tradewire.tuning.process import CpuPlan


def split_by_account(config: AppConfig, strategies: list[Any]) -> dict[str, list[Any]]:
    """The strategies of each account, accounts in config order (each one, even empty)."""
    out: dict[str, list[Any]] = {name: [] for name in config.accounts} or {"main": []}
    for entry, strategy in zip(config.strategies, strategies, strict=True):
        out[config.account_of(entry)].append(strategy)
    return out


def account_venues(
    config: AppConfig, creds: Credentials, mode: str, venues: Venues, name: str, first: bool
) -> Venues:
    """``venues`` with ``name``'s key pair: against the simulator, the pair ``run`` gave it
    (the first account keeps the simulator's default pair); else the variables it names."""
    if mode == "sim":
        if first:
            return venues
        sim_key, sim_secret = sim_key_pair(name)
        return dataclasses.replace(venues, alpaca_key=sim_key, alpaca_secret=sim_secret)
    account = config.accounts[name]
    key, secret = creds.secret(account.key_env), creds.secret(account.secret_env)
    if key is None or secret is None:
        missing = account.key_env if key is None else account.secret_env
        raise ConfigError(f"accounts.{name}: ${missing} is not set (its Alpaca key pair)")
    return dataclasses.replace(venues, alpaca_key=key, alpaca_secret=secret)


def build_accounts(
    config: AppConfig,
    creds: Credentials,
    mode: str,
    venues: Venues,
    strategies: list[Any],
    journal: Path,
    plan: CpuPlan,
) -> dict[str, TradingNode]:
    """One node per account (not started); the first holds the feed, the rest follow it.

    Raises:
        ConfigError: an account's key pair is not in the environment.
        OSError, TradewireError: a journal cannot open.
    """
    nodes: dict[str, TradingNode] = {}
    for i, (name, own) in enumerate(split_by_account(config, strategies).items()):
        account = config.accounts.get(name)
        cfg = config
        if account is not None and account.risk is not None:
            cfg = config.model_copy(update={"risk": account.risk})  # its own limits
        where = account_venues(config, creds, mode, venues, name, i == 0)
        nodes[name] = build_node(
            cfg, mode, where, own, account_journal(journal, name, i == 0), plan
        )
    first, *rest = nodes.values()
    for node in rest:
        node.follow(first)
    return nodes
