"""Base pieces shared by every component's ``<Component>Config``.

Configs are frozen and strict so that a typo in YAML is an error that names its path,
never a silently ignored key. Secrets are ``SecretStr`` so that no repr, log line or
exception can show them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, Strict, ValidationError

from tradewire.errors import ConfigError

# Numbers are strict: ``'100'`` in YAML is a quoted string, most likely a mistake, and
# lax parsing would also take ``true`` as 1. An int is still fine where a float is wanted.
# Strictness is per type, not model-wide: a model-wide ``strict`` would also refuse the
# plain strings and lists YAML gives for ``Path`` and ``tuple`` settings.
Int = Annotated[int, Strict()]
Float = Annotated[float, Strict()]
PositiveInt = Annotated[int, Strict(), Field(gt=0)]
NonNegativeInt = Annotated[int, Strict(), Field(ge=0)]
PositiveFloat = Annotated[float, Strict(), Field(gt=0)]
NonNegativeFloat = Annotated[float, Strict(), Field(ge=0)]
Port = Annotated[int, Strict(), Field(ge=0, le=65535)]

# Pydantic error types whose message gets a hint when the input was a string.
_NUMBER_ERRORS = frozenset({"int_type", "float_type"})
# Error types whose message pydantic prefixes with the exception kind.
_PREFIXED_ERRORS = {"value_error": "Value error, ", "assertion_error": "Assertion failed, "}


class StrictModel(BaseModel):
    """Frozen, no unknown fields, no implicit str→number coercion surprises.

    ``allow_inf_nan=False`` covers every float field of every config: ``.inf`` as a risk
    limit would silently switch the check off, and ``.nan`` compares false with anything.
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_default=True, allow_inf_nan=False
    )


def describe_validation_error(exc: ValidationError, *, source: str) -> str:
    """Render a pydantic error as ``source: a.b.c: message`` lines, without input values.

    Input values are left out on purpose: a secret put in the wrong field must not be echoed.
    """
    lines = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "<root>"
        msg = err["msg"]
        if err["type"] in _PREFIXED_ERRORS:
            # pydantic wraps our validators' own sentences in "Value error, …": the reader
            # wants the sentence, not the exception class it travelled in.
            msg = msg.removeprefix(_PREFIXED_ERRORS[err["type"]])
        if err["type"] in _NUMBER_ERRORS:
            # Names the input's kind only; "valid number" alone puzzles someone looking at '5'.
            if isinstance(err.get("input"), str):
                msg += ", not a quoted string"
            elif isinstance(err.get("input"), bool):
                msg += ", not true/false"
        lines.append(f"{source}: {path}: {msg}")
    return "\n".join(lines)


def secret_from_env(name: str, env: dict[str, str] | None = None) -> SecretStr | None:
    """Read a secret from ``env`` (default ``os.environ``); empty means absent."""
    value = (env if env is not None else os.environ).get(name, "").strip()
    return SecretStr(value) if value else None


def require_secret(name: str, env: dict[str, str] | None = None) -> SecretStr:
    """Like :func:`secret_from_env` but a missing value is a ``ConfigError`` naming the variable."""
    value = secret_from_env(name, env)
    if value is None:
        raise ConfigError(f"missing credential: set {name} in the environment or in .env")
    return value


def load_dotenv_file(path: Path) -> dict[str, str]:
    """Parse a ``.env`` file into a dict without touching ``os.environ``."""
    from dotenv import dotenv_values

    if not path.exists():
        return {}
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


# Where keys and endpoints come from when the code does not pass them: the environment
# first, then a ``.env`` in the working folder. Alpaca's own SDK names work too.
POLYGON_KEY_VARS = ("POLYGON_API_KEY", "MASSIVE_API_KEY")
POLYGON_URL_VARS = ("POLYGON_WS_URL",)
ALPACA_KEY_VARS = ("ALPACA_API_KEY", "APCA_API_KEY_ID")
ALPACA_SECRET_VARS = ("ALPACA_API_SECRET", "APCA_API_SECRET_KEY")
ALPACA_URL_VARS = ("ALPACA_BASE_URL", "APCA_API_BASE_URL")


def from_environment(names: tuple[str, ...], *, dotenv: Path | None = Path(".env")) -> str | None:
    """The first of ``names`` that is set (non-empty): in ``os.environ``, else in ``dotenv``."""
    import os

    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    if dotenv is not None:
        values = load_dotenv_file(dotenv)
        for name in names:
            value = values.get(name, "").strip()
            if value:
                return value
    return None
