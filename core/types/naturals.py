"""Literals as plain Python by their kind alone, and back, for code that has no Python types at hand.

A client that names an entity instead of importing it, and a condition comparing a value
with a constant, read literals without the declared Python types: records as dicts,
enums as member names, files as URIs. This is the one reading of that kind, and
:func:`from_natural` the one writing (the remote client's inputs, the console's launch form).
"""

from __future__ import annotations

import datetime as dt
import typing
from typing import Any

from wingspan.core.compiler.typecheck import ANY_TAG, literal_fits
from wingspan.core.errors import TypeTransformerError
from wingspan.core.model.literals import (
    DICT_ITEM,
    VOID,
    EnumValue,
    Literal,
    LiteralCollection,
    LiteralMap,
    LiteralType,
    RecordFieldValue,
    RecordValue,
    SimpleType,
    UnionValue,
)
from wingspan.core.types.purity import to_literal_now, to_python_now

__all__ = ["from_natural", "to_natural"]


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



_SIMPLE: dict[SimpleType, tuple[type, ...]] = {
    SimpleType.INTEGER: (int,), SimpleType.FLOAT: (float, int), SimpleType.STRING: (str,),
    SimpleType.BOOLEAN: (bool,), SimpleType.BINARY: (bytes,), SimpleType.DATETIME: (dt.datetime,),
    SimpleType.DURATION: (dt.timedelta,),
}


def from_natural(value: Any, lt: LiteralType, name: str = "value") -> Literal:
    """Plain Python as a literal of type ``lt``, or an error naming ``name`` and both types."""
    literal = _convert(value, lt, name)
    if not literal_fits(literal, lt):
        raise TypeTransformerError(f"{name!r}: expected {lt}, got {type(value).__name__} {value!r:.60}")
    return literal


def _convert(value: Any, lt: LiteralType, name: str) -> Literal:
    def wrong() -> TypeTransformerError:
        return TypeTransformerError(f"{name!r}: expected {lt}, got {type(value).__name__} {value!r:.60}")

    match lt.kind:
        case "simple":
            kind = SimpleType(lt.value)
            if kind == SimpleType.NONE:
                if value is not None:
                    raise wrong()
                return Literal("none", VOID)
            if kind == SimpleType.OPAQUE:
                if lt.tag != ANY_TAG:  # a pickled class: only its code can make one
                    raise TypeTransformerError(f"{name!r}: give a {lt} through the entity itself, "
                                               "not by name")
                return to_literal_now(value, typing.Any, name)  # JSON-like, as the type engine does
            allowed = _SIMPLE.get(kind, ())
            if not isinstance(value, allowed) or (isinstance(value, bool) and kind != SimpleType.BOOLEAN):
                raise wrong()
            return _simple(kind, value)
        case "collection_type":
            if not isinstance(value, list):
                raise wrong()
            return Literal("collection", LiteralCollection(tuple(
                _convert(v, lt.value, f"{name}[{i}]") for i, v in enumerate(value))))
        case "map_value_type":
            if not isinstance(value, dict):
                raise wrong()
            return Literal("map", LiteralMap({k: _convert(v, lt.value, f"{name}[{k!r}]")
                                              for k, v in value.items()}))
        case "union_type":
            for variant in lt.value.variants:
                try:
                    return Literal("union", UnionValue(_convert(value, variant, name), variant.tag))
                except TypeTransformerError:
                    continue
            raise wrong()
        case "enum_type":
            if value not in lt.value.values:
                raise TypeTransformerError(f"{name!r}: {value!r} is not one of {list(lt.value.values)}")
            return Literal("enum", EnumValue(value))
        case "record_type":
            if not isinstance(value, dict):
                raise wrong()
            fields = {f.name: f for f in lt.value.fields}
            unknown = sorted(set(value) - set(fields))
            if unknown:
                raise TypeTransformerError(f"{name!r}: {lt} has no fields {unknown}")
            return Literal("record", RecordValue(lt.value.name, tuple(
                RecordFieldValue(k, _convert(value[k], fields[k].type, f"{name}.{k}"))
                for k in fields if k in value)))
    raise TypeTransformerError(f"{name!r}: give a {lt} through the entity itself, not by name")


def _simple(kind: SimpleType, value: Any) -> Literal:
    # the type engine's own scalar encodings, so both routes write the same literals
    py_type = {SimpleType.INTEGER: int, SimpleType.FLOAT: float, SimpleType.STRING: str,
               SimpleType.BOOLEAN: bool, SimpleType.BINARY: bytes, SimpleType.DATETIME: dt.datetime,
               SimpleType.DURATION: dt.timedelta}[kind]
    return to_literal_now(value, py_type)
