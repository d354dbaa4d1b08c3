"""Transformers of list[T], dict[str, T], and unions (Optional[T] included)."""

from __future__ import annotations

import types
import typing
from typing import Any

from wingspan.core.model.literals import (
    Literal,
    LiteralCollection,
    LiteralMap,
    LiteralType,
    UnionType,
    UnionValue,
)
from wingspan.core.types.engine import TypeEngine, UnsupportedTypeError, mismatch_from_literal, type_repr
from wingspan.core.types.scalars import check_text
from wingspan.core.types.transformer import TransferContext, TypeTransformer, ValueMismatch

__all__ = ["CONTAINER_TRANSFORMERS", "union_variants"]


def _item_type(py_type: Any) -> Any:
    """T of list[T]; UnsupportedTypeError for a bare list."""
    args = typing.get_args(py_type)
    if not args:
        raise UnsupportedTypeError(py_type, reason="say what it holds, e.g. list[int]")
    return args[0]


def _value_type(py_type: Any) -> Any:
    """T of dict[str, T]; UnsupportedTypeError for a bare dict or keys other than str."""
    args = typing.get_args(py_type)
    if not args:
        raise UnsupportedTypeError(py_type, reason="say what it maps, e.g. dict[str, int]")
    if args[0] is not str:
        raise UnsupportedTypeError(py_type, reason="dictionary keys must be str")
    return args[1]


class ListTransformer(TypeTransformer):
    name = "list"

    def handles(self, py_type: Any) -> bool:
        return py_type is list or typing.get_origin(py_type) is list

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        return LiteralType("collection_type", engine.literal_type(_item_type(py_type)),
                           annotation=type_repr(py_type))

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        if type(value) is not list:
            return False
        item = _item_type(py_type)
        transformer = engine.transformer_for(item)
        return all(transformer.fits(v, item, engine, exact=exact) for v in value)

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine,
                         ctx: TransferContext) -> Literal:
        if not isinstance(value, list):
            raise ValueMismatch.of(type_repr(py_type), value)
        item = _item_type(py_type)
        transformer = engine.transformer_for(item)
        literals = []
        for index, element in enumerate(value):
            try:
                literals.append(await transformer.to_literal(element, item, engine, ctx))
            except ValueMismatch as exc:
                raise exc.within(f"[{index}]") from None
        return Literal("collection", LiteralCollection(tuple(literals)))

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        if literal.kind != "collection":
            raise mismatch_from_literal(py_type, literal)
        item = _item_type(py_type)
        return [await engine.to_python_nested(lit, item, ctx) for lit in literal.value.literals]


class DictTransformer(TypeTransformer):
    name = "dict"

    def handles(self, py_type: Any) -> bool:
        return py_type is dict or typing.get_origin(py_type) is dict

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        return LiteralType("map_value_type", engine.literal_type(_value_type(py_type)),
                           annotation=type_repr(py_type))

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        if type(value) is not dict:
            return False
        item = _value_type(py_type)
        transformer = engine.transformer_for(item)
        return all(type(k) is str and transformer.fits(v, item, engine, exact=exact)
                   for k, v in value.items())

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine,
                         ctx: TransferContext) -> Literal:
        if not isinstance(value, dict):
            raise ValueMismatch.of(type_repr(py_type), value)
        item = _value_type(py_type)
        transformer = engine.transformer_for(item)
        literals = {}
        for key, element in value.items():
            if not isinstance(key, str):
                raise ValueMismatch("str keys", type(key).__name__, repr(key)[:60])
            check_text(key)
            try:
                literals[key] = await transformer.to_literal(element, item, engine, ctx)
            except ValueMismatch as exc:
                raise exc.within(f"[{key!r}]") from None
        return Literal("map", LiteralMap(literals))

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        if literal.kind != "map":
            raise mismatch_from_literal(py_type, literal)
        item = _value_type(py_type)
        return {k: await engine.to_python_nested(v, item, ctx)
                for k, v in literal.value.literals.items()}


def union_variants(py_type: Any) -> tuple[Any, ...] | None:
    """The member types of a union annotation, or None for anything else."""
    if typing.get_origin(py_type) in (typing.Union, types.UnionType):
        return typing.get_args(py_type)
    return None


class UnionTransformer(TypeTransformer):
    """A value is stored with the tag of the variant it fits, exact fits first."""

    name = "union"

    def handles(self, py_type: Any) -> bool:
        return union_variants(py_type) is not None

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        variants = []
        for member in typing.get_args(py_type):
            lt = engine.literal_type(member)
            variants.append(LiteralType(lt.kind, lt.value, tag=type_repr(member),
                                        annotation=lt.annotation))
        return LiteralType("union_type", UnionType(tuple(variants)), annotation=type_repr(py_type))

    def _variant(self, value: Any, py_type: Any, engine: TypeEngine) -> Any:
        members = typing.get_args(py_type)
        for exact in (True, False):
            for member in members:
                if engine.transformer_for(member).fits(value, member, engine, exact=exact):
                    return member
        return None

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        # exact too inside: [3] must not fit list[float | str] exactly, or list[float | str] |
        # list[int] would store it as [3.0]
        return any(engine.transformer_for(member).fits(value, member, engine, exact=exact)
                   for member in typing.get_args(py_type))

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine,
                         ctx: TransferContext) -> Literal:
        member = self._variant(value, py_type, engine)
        if member is None:
            raise ValueMismatch.of(type_repr(py_type), value)
        inner = await engine.to_literal_nested(value, member, ctx)
        return Literal("union", UnionValue(inner, type_repr(member)))

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        if literal.kind != "union":
            raise mismatch_from_literal(py_type, literal)
        union: UnionValue = literal.value
        for member in typing.get_args(py_type):
            if type_repr(member) == union.tag:
                assert union.value is not None
                return await engine.to_python_nested(union.value, member, ctx)
        raise ValueMismatch(type_repr(py_type), f"a value tagged {union.tag!r}")


CONTAINER_TRANSFORMERS: tuple[TypeTransformer, ...] = (
    ListTransformer(), DictTransformer(), UnionTransformer(),
)
