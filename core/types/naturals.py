"""Literals as plain Python by their kind alone, for code that has no Python types at hand.

A client that names an entity instead of importing it, and a condition comparing a value
with a constant, read literals without the declared Python types: records as dicts,
enums as member names, files as URIs. This is the one reading of that kind.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from wingspan.core.errors import TypeTransformerError
from wingspan.core.model.literals import DICT_ITEM, Literal
from wingspan.core.types.purity import to_python_now

__all__ = ["to_natural"]


def to_natural(literal: Literal) -> Any:
    """A literal as plain Python."""
    kind, value = literal.kind, literal.value
    match kind:
        case "none":
            return None
        case "integer" | "float" | "string" | "boolean" | "binary":
            return value
        case "opaque":  # a pickle: its bytes (reading them needs the classes it holds)
            return bytes(value)
        case "big_integer":
            return int(value)
        case "datetime":
            return to_python_now(literal, dt.datetime)  # the type engine's reading, zone kept
        case "duration":
            return to_python_now(literal, dt.timedelta)
        case "collection":
            items = [to_natural(item) for item in value.literals]
            if items and all(item.kind == "record" and item.value.type_name == DICT_ITEM
                             for item in value.literals):  # a dict with keys other than str
                return {item["key"]: item["value"] for item in items}
            return items
        case "map":
            return {k: to_natural(v) for k, v in value.literals.items()}
        case "union":
            return to_natural(value.value)
        case "enum":
            return value.name
        case "record":
            return {f.name: to_natural(f.value) for f in value.fields}
        case "blob" | "structured_dataset" | "offloaded":
            return value.uri
    raise TypeTransformerError(f"a {kind or 'empty'} literal has no plain Python form")
