"""Read a YAML config file strictly enough that a mistake in it is an error, not a guess.

``yaml.safe_load`` alone keeps the last of two equal keys without a word, so the limit
that was edited may not be the one in force; and it reads ``1e3`` as the string
``'1e3'`` (YAML 1.1 floats need a dot), which a strict number check would then refuse.
Every failure here is one ``ConfigError`` line naming the file, so ``tradewire run`` can
print it and exit 2 without a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode

from tradewire.errors import ConfigError

_MERGE_TAG = "tag:yaml.org,2002:merge"

# YAML 1.2 floats with an exponent but no dot, or ``1.5e3`` with an unsigned exponent:
# PyYAML's 1.1 resolver leaves both as strings although they are plainly numbers.
_EXPONENT_FLOAT = re.compile(
    r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$",
)


class DuplicateKeyError(yaml.YAMLError):
    """A mapping names the same key twice; lines are 1-based, as an editor shows them."""

    def __init__(self, key: object, line: int, first_line: int) -> None:
        super().__init__(f"line {line}: duplicate key {key!r} (first at line {first_line})")
        self.key = key
        self.line = line
        self.first_line = first_line


class StrictSafeLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses duplicate keys and reads YAML 1.2 exponent floats."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        # Checked on the node, before ``<<`` merges are flattened in: a key that overrides
        # a merged-in default is deliberate, two written keys are a mistake.
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                seen = first.get(key)
            except TypeError:  # unhashable key: the base class reports it properly
                continue
            line = key_node.start_mark.line + 1
            if seen is not None:
                raise DuplicateKeyError(key, line, seen)
            first[key] = line
        return super().construct_mapping(node, deep=deep)


StrictSafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789.")
)


def parse_yaml(text: str, name: str | None = None) -> Any:
    """Parse one YAML document with :class:`StrictSafeLoader`.

    ``name`` (the file's path) goes into the error marks; PyYAML says ``"<unicode string>"``
    for text it was handed, which tells the reader nothing.
    """
    loader = StrictSafeLoader(text)
    if name is not None:
        loader.name = name
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start]
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{bad:02x} at offset {exc.start})"
        ) from None


def load_yaml_file(path: Path) -> Any:
    """Read and parse ``path``; every failure is a ``ConfigError`` that names the file.

    Raises:
        ConfigError: unreadable, not UTF-8, not YAML, or a duplicate key (with its line
            and the line of the first occurrence).
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read YAML: {exc}") from exc
    text = _decode(path, data)
    try:
        return parse_yaml(text, str(path))
    except DuplicateKeyError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        raise ConfigError(f"{path}: {_one_line(exc)}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: cannot read YAML: {exc}") from None


def _one_line(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's error is several lines (context, problem, the source line and a caret);
    the CLI prints one: where (1-based, as an editor shows it) and what."""
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    what = exc.problem or "not valid YAML"
    if exc.context:
        what += f" ({exc.context}"
        ctx = exc.context_mark
        if ctx is not None and mark is not None and ctx.line != mark.line:
            what += f" at line {ctx.line + 1}"
        what += ")"
    return f"{where}YAML syntax error: {what}"
