"""A strategy's typed parameters: ``params`` from the config checked against its ``Params``.

A typo in a config key used to fall back to the strategy's default silently; a declared
``Params`` (a msgspec Struct or a pydantic model) makes it a config error that names the key.
"""

from __future__ import annotations

from typing import Any


def typed_params(schema: type | None, params: dict[str, Any], name: str) -> Any:
    """``params`` as the strategy's declared ``Params`` type (or the dict when none is).

    An unknown key is refused by name (a typo must not silently fall back to a default),
    and so is a value of the wrong type.
    """
    if schema is None:
        return params
    from tradewire.errors import ConfigError

    fields = getattr(schema, "__struct_fields__", None)
    if fields is None:
        fields = tuple(getattr(schema, "model_fields", {}))
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise ConfigError(
            f"strategy {name}: unknown parameter {unknown[0]!r} (it takes: {', '.join(fields) or 'none'})"
        )
    try:
        if hasattr(schema, "model_validate"):
            return schema.model_validate(params)
        import msgspec

        return msgspec.convert(params, schema, strict=False)
    except Exception as exc:  # pydantic's and msgspec's validation errors, one line
        detail = " ".join(str(exc).split())
        raise ConfigError(f"strategy {name}: invalid parameters: {detail}") from None
