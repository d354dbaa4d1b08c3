"""Values by literal type alone, for a client that has no Python types at hand.

A client that names an entity instead of importing it knows only the literal types of
its interface. Inputs then come as plain Python (int, str, list, dict ...) and outputs
come back the same way (records as dicts, enums as member names, files as URIs), read by
core's :func:`wingspan.core.types.naturals.to_natural`.
"""

from __future__ import annotations

import datetime as dt
import typing
from typing import Any

from wingspan.core.compiler.typecheck import ANY_TAG, literal_fits
from wingspan.core.errors import TypeTransformerError
from wingspan.core.model.literals import (
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
from wingspan.core.types.purity import to_literal_now

__all__ = ["from_natural"]


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
