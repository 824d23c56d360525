"""Loading a strategy from the config: ``package.module:ClassName`` or ``file.py:ClassName``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from tradewire.engine.strategy import Strategy
from tradewire.engine.symbols import normalize_symbols


@dataclass(slots=True)
class StrategyConfig:
    """How a strategy is loaded: ``path`` is ``package.module:ClassName``."""

    path: str
    symbols: list[str]
    params: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None


def load_strategy(
    config: StrategyConfig, *, base_dir: Path | None = None, search_cwd: bool = True
) -> Strategy:
    """Instantiate a strategy from ``package.module:ClassName`` or ``path/to/file.py:ClassName``.

    File paths let users keep strategies beside their config without packaging them; a
    relative file path is resolved against ``base_dir`` (the config's project), then, unless
    ``search_cwd`` is false (``tradewire run``: the working folder is not the project), the
    current directory.
    """
    import importlib
    import importlib.util

    from tradewire.errors import ConfigError

    target, sep, class_name = config.path.rpartition(":")
    if not sep or not target or not class_name:
        raise ConfigError(
            f"strategy path {config.path!r} must look like 'package.module:ClassName' "
            "or 'path/to/file.py:ClassName'"
        )
    module: ModuleType
    if target.endswith(".py"):
        candidates = [Path(target)] if Path(target).is_absolute() else []
        if base_dir is not None and not Path(target).is_absolute():
            candidates.append(base_dir / target)
        if search_cwd or base_dir is None:
            candidates.append(Path.cwd() / target)
        file = next((c for c in candidates if c.is_file()), None)
        if file is None:
            raise ConfigError(f"strategy path {config.path!r}: file {target} not found")
        spec = importlib.util.spec_from_file_location(f"tradewire_user_{file.stem}", file)
        if spec is None or spec.loader is None:
            raise ConfigError(f"strategy path {config.path!r}: cannot load {file}")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise ConfigError(
                f"strategy path {config.path!r}: {file} failed to import: {exc}"
            ) from exc
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise ConfigError(
                f"strategy path {config.path!r}: cannot import {target}: {exc}"
            ) from exc
    cls = getattr(module, class_name, None)
    if cls is None:
        found = sorted(
            n
            for n, v in vars(module).items()
            if isinstance(v, type) and issubclass(v, Strategy) and v is not Strategy
        )
        raise ConfigError(
            f"strategy path {config.path!r}: no class {class_name!r} in {target}"
            + (f" (it has: {', '.join(found)})" if found else "")
        )
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise ConfigError(f"strategy path {config.path!r}: {class_name} is not a Strategy subclass")
    try:
        symbols = normalize_symbols(config.symbols)  # aapl means AAPL, as everywhere
    except ValueError as exc:
        raise ConfigError(f"strategy {config.path!r}: {exc}") from None
    return cls(symbols=symbols, params=config.params, name=config.name)
