"""Where the config is, and what its relative paths are relative to.

A user starts ``run.sh`` or ``tradewire`` from whatever folder their shell is in; the
journal folder, strategy files, ``.env`` and the kill token written in a config belong to
the project that config lives in. So the working folder is only ever used to *find* a
project (``./config/trading_apis.yaml``), never to resolve a path written in one, and no
config at all is an error: an empty default would start with no strategies, or none of
the user's limits.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tradewire.errors import ConfigError

CONFIG_ENV = "TRADEWIRE_CONFIG"
DEFAULT_CONFIG = Path("config") / "trading_apis.yaml"


@dataclass(frozen=True, slots=True)
class Project:
    """A config file and the folder its relative paths are resolved against."""

    config: Path
    root: Path

    @classmethod
    def of(cls, config: Path) -> Project:
        """``X/config/FILE.yaml`` belongs to project ``X``; any other file to its own folder."""
        config = config.resolve()
        folder = config.parent
        return cls(config, folder.parent if folder.name == "config" else folder)

    def resolve(self, path: Path) -> Path:
        path = path.expanduser()
        return path if path.is_absolute() else self.root / path


def locate_config(
    explicit: Path | None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Project:
    """``--config``, else ``$TRADEWIRE_CONFIG``, else ``./config/trading_apis.yaml``.

    Raises:
        ConfigError: the named file does not exist, or none of the three is there.
    """
    env = os.environ if env is None else env
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: config file not found")
        return Project.of(explicit)
    named = env.get(CONFIG_ENV, "").strip()
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found (from ${CONFIG_ENV})")
        return Project.of(path)
    here = (cwd or Path.cwd()) / DEFAULT_CONFIG
    if here.is_file():
        return Project.of(here)
    raise ConfigError(
        f"no config: {here} does not exist; pass --config FILE, set {CONFIG_ENV}, "
        "or run from the project folder (run.sh finds its own)"
    )
