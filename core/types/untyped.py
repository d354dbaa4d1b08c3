"""Values of no declared type (``Any``, ``object``, and the items of a bare ``list`` or ``dict``):
JSON-like data where they are, pickled where they are not.

None, bool, int, float, str, bytes, datetime and timedelta, and lists and str-keyed dicts of
them, are stored as the literals of those values, so they round-trip exactly and read as
plain data anywhere (the console, a client without the code). Anything else inside (a
tuple, a set, an object) is pickled where it stands, with the one-time warning of
:mod:`.pickled`.
"""

from __future__ import annotations

import datetime as dt
import typing
from typing import Any

from wingspan.core.compiler.typecheck import ANY_TAG
from wingspan.core.model.literals import Literal, LiteralCollection, LiteralMap, LiteralType, SimpleType
from wingspan.core.types.engine import TypeEngine, type_repr
from wingspan.core.types.naturals import to_natural
from wingspan.core.types.pickled import pickle_literal, unpickle_literal, warn_pickled
from wingspan.core.types.transformer import TransferContext, TypeTransformer, ValueMismatch

__all__ = ["AnyTransformer", "is_untyped", "untyped_literal", "untyped_value"]

# scalars stored as their own literals; exact types: a bool subclass or an int enum is pickled
_SCALARS: dict[type, Any] = {type(None): None, bool: bool, int: int, float: float, str: str,
                             bytes: bytes, dt.datetime: dt.datetime, dt.timedelta: dt.timedelta}


def is_untyped(py_type: Any) -> bool:
    """``Any`` or ``object``: an annotation that says nothing of the value."""
    return py_type is typing.Any or py_type is object


async def untyped_literal(value: Any, engine: TypeEngine, ctx: TransferContext) -> Literal:
    """The literal of a value of no declared type, JSON-like where it is."""
    value_type = type(value)
    if value_type in _SCALARS:
        try:
            return await engine.to_literal_nested(value, _SCALARS[value_type], ctx)
        except ValueMismatch:
            pass  # a str with a lone surrogate: no text literal holds it
    elif value_type is list:
        return Literal("collection", LiteralCollection(tuple(
            [await untyped_literal(item, engine, ctx) for item in value])))
    elif value_type is dict and all(type(key) is str for key in value):
        return Literal("map", LiteralMap({key: await untyped_literal(item, engine, ctx)
                                          for key, item in value.items()}))
    warn_pickled(f"{value_type.__module__}.{value_type.__qualname__} (in a value typed Any, list or dict)")
    return pickle_literal(value)


def untyped_value(literal: Literal) -> Any:
    """The value of a literal read with no declared type: plain data, or what was pickled."""
    match literal.kind:
        case "opaque":
            return unpickle_literal(literal, typing.Any)
        case "collection":
            return [untyped_value(item) for item in literal.value.literals]
        case "map":
            return {key: untyped_value(item) for key, item in literal.value.literals.items()}
        case "union":
            return untyped_value(literal.value.value)
    return to_natural(literal)


class AnyTransformer(TypeTransformer):
    """``Any`` and ``object``: any value, JSON-like where it is."""

    name = "any"

    def handles(self, py_type: Any) -> bool:
        return is_untyped(py_type)

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        return LiteralType("simple", SimpleType.OPAQUE, tag=ANY_TAG, annotation=type_repr(py_type))

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        return True

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine,
                         ctx: TransferContext) -> Literal:
        return await untyped_literal(value, engine, ctx)

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        return untyped_value(literal)
