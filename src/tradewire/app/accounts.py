"""Several Alpaca accounts in one ``run`` (issue 25): one engine per account behind one feed.

``accounts: {main: {key_env: ALPACA_API_KEY, secret_env: ALPACA_API_SECRET}, hedge: {key_env:
HEDGE_KEY, secret_env: HEDGE_SECRET, risk: {...}}}`` and ``account: hedge`` on a strategy bind
each strategy to an account. Each account is a :class:`~tradewire.live.node.TradingNode` of
its own: its broker client and trade stream, its own risk limits (``risk`` here replaces the
top-level ``risk`` for that account), its own journal (``<journal>-<account>.twj``),
reconciliation, positions and kill switch. Massive allows one connection per cluster, so the
first account's node holds the feed and hands every batch of events to the others
(:meth:`TradingNode.follow`). Against the simulator with no keys, each account gets a key pair
of its own on the one simulated broker (``tradewire sim --accounts``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import field_validator

from tradewire.configbase import StrictModel
from tradewire.engine.config import RiskConfig

ACCOUNT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")


class AccountConfig(StrictModel):
    """One Alpaca account: the environment variables holding its key pair (never the keys
    themselves in YAML), and its risk limits (default: the top-level ``risk``)."""

    key_env: str
    secret_env: str
    risk: RiskConfig | None = None

    @field_validator("key_env", "secret_env")
    @classmethod
    def _variable(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"{name!r} is not an environment variable name")
        return name


def check_account_names(accounts: Mapping[str, AccountConfig]) -> None:
    for name in accounts:
        if not ACCOUNT_NAME.fullmatch(name):
            raise ValueError(f"account {name!r}: a letter, then letters, digits, - and _")


def sim_key_pair(account: str) -> tuple[str, str]:
    """The key pair the simulator gives ``account`` when ``run`` starts it with no keys
    (never a real key: the simulator's fixed test pair is the first account's)."""
    return f"sim-{account}-key", f"sim-{account}-secret"


def account_journal(journal: Path, account: str, first: bool) -> Path:
    """The first account keeps the run's journal; every other one writes beside it."""
    return journal if first else journal.with_name(f"{journal.stem}-{account}{journal.suffix}")


def account_sim_args(accounts: Mapping[str, AccountConfig]) -> list[str]:
    """``--accounts NAME:KEY:SECRET,…`` for every account after the first (the first trades
    with the simulator's default pair)."""
    names = list(accounts)[1:]
    if not names:
        return []
    return ["--accounts", ",".join(f"{n}:{':'.join(sim_key_pair(n))}" for n in names)]
