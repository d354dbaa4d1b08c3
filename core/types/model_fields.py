"""File, Directory and DataFrame as fields of pydantic models: pydantic's schema hooks.

The classes name these functions from ``__get_pydantic_core_schema__`` and
``__get_pydantic_json_schema__``; pydantic calls them when a model with such a field is
defined, so it is imported here only by pydantic's own use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["REFERENCE_JSON_SCHEMA", "reference_schema"]

# what a reference looks like in a model's JSON (its path or URI)
REFERENCE_JSON_SCHEMA = {"type": "string", "format": "path-or-uri"}


def reference_schema(cls: type, convert: Callable[[Any], Any], as_text: Callable[[Any], Any],
                     accepts: str) -> Any:
    """A field of type ``cls``: an instance, or what ``convert`` makes one of (None when it
    cannot); in JSON, ``as_text`` of it."""
    from pydantic_core import core_schema

    def validate(value: Any) -> Any:
        if type(value) is cls:
            return value
        converted = convert(value)
        if converted is None:
            raise ValueError(f"a {cls.__name__} is given as {accepts}, not {type(value).__name__}")
        return converted

    return core_schema.no_info_plain_validator_function(
        validate, serialization=core_schema.plain_serializer_function_ser_schema(as_text, when_used="json"))
