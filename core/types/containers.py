"""Transformers of list[T], dict[K, T], unions (Optional[T] included) and Any."""

from __future__ import annotations

import types
import typing
from typing import Any

from wingspan.core.model.literals import (
    DICT_ITEM,
    Literal,
    LiteralCollection,
    LiteralMap,
    LiteralType,
    RecordField,
    RecordFieldValue,
    RecordKind,
    RecordType,
    RecordValue,
    UnionType,
    UnionValue,
)
from wingspan.core.types.engine import TypeEngine, mismatch_from_literal, type_repr
from wingspan.core.types.pickled import pickle_literal, unpickle_literal, warn_pickled
from wingspan.core.types.scalars import check_text
from wingspan.core.types.transformer import TransferContext, TypeTransformer, ValueMismatch
from wingspan.core.types.untyped import AnyTransformer, is_untyped

__all__ = ["CONTAINER_TRANSFORMERS", "union_variants"]


def _item_type(py_type: Any) -> Any:
    """T of list[T]; Any for a bare list (its items are JSON-like or pickled, see .untyped)."""
    args = typing.get_args(py_type)
    return args[0] if args else typing.Any


def _value_type(py_type: Any) -> Any:
    """T of dict[str, T]; Any for a bare dict or dict[Any, T]."""
    args = typing.get_args(py_type)
    return args[1] if args else typing.Any


def _untyped_keys(py_type: Any) -> bool:
    """A bare dict or dict[Any, T]: keys other than str make the whole dict a pickle."""
    args = typing.get_args(py_type)
    return not args or is_untyped(args[0])


def _keys_are_str(py_type: Any) -> bool:
    args = typing.get_args(py_type)
    return not args or args[0] is str or is_untyped(args[0])


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
    """dict[str, T]; a bare dict (or dict[Any, T]) too, pickled whole if a key is not a str."""

    name = "dict"

    def handles(self, py_type: Any) -> bool:
        return (py_type is dict or typing.get_origin(py_type) is dict) and _keys_are_str(py_type)

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        return LiteralType("map_value_type", engine.literal_type(_value_type(py_type)),
                           annotation=type_repr(py_type))

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        if type(value) is not dict:
            return False
        item = _value_type(py_type)
        transformer = engine.transformer_for(item)
        any_key = _untyped_keys(py_type)
        return all((any_key or type(k) is str) and transformer.fits(v, item, engine, exact=exact)
                   for k, v in value.items())

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine,
                         ctx: TransferContext) -> Literal:
        if not isinstance(value, dict):
            raise ValueMismatch.of(type_repr(py_type), value)
        if _untyped_keys(py_type) and not all(type(key) is str for key in value):
            warn_pickled(f"{type_repr(py_type)} with keys other than str")
            return pickle_literal(value)
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
        if literal.kind == "opaque" and _untyped_keys(py_type):
            value = unpickle_literal(literal, py_type)
            if type(value) is not dict:
                raise ValueMismatch.of(type_repr(py_type), value, "the pickle held another type")
            return value
        if literal.kind != "map":
            raise mismatch_from_literal(py_type, literal)
        item = _value_type(py_type)
        return {k: await engine.to_python_nested(v, item, ctx)
                for k, v in literal.value.literals.items()}


class KeyedDictTransformer(TypeTransformer):
    """dict[K, V] with keys other than str (dict[int, str]): a list of typed key/value records,
    so keys and values keep their types and read as data anywhere."""

    name = "keyed-dict"

    def handles(self, py_type: Any) -> bool:
        return typing.get_origin(py_type) is dict and not _keys_are_str(py_type)

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        key, value = typing.get_args(py_type)
        item = RecordType(DICT_ITEM, RecordKind.UNSPECIFIED, (
            RecordField("key", engine.literal_type(key)), RecordField("value", engine.literal_type(value))))
        return LiteralType("collection_type", LiteralType("record_type", item),
                           annotation=type_repr(py_type))

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        if type(value) is not dict:
            return False
        key, item = typing.get_args(py_type)
        return all(engine.fits(k, key, exact=exact) and engine.fits(v, item, exact=exact)
                   for k, v in value.items())

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine,
                         ctx: TransferContext) -> Literal:
        if not isinstance(value, dict):
            raise ValueMismatch.of(type_repr(py_type), value)
        key_type, item_type = typing.get_args(py_type)
        items = []
        for key, item in value.items():
            try:
                key_literal = await engine.to_literal_nested(key, key_type, ctx)
            except ValueMismatch as exc:
                raise exc.within(f"[key {key!r:.40}]") from None
            try:
                item_literal = await engine.to_literal_nested(item, item_type, ctx)
            except ValueMismatch as exc:
                raise exc.within(f"[{key!r:.40}]") from None
            items.append(Literal("record", RecordValue(DICT_ITEM, (
                RecordFieldValue("key", key_literal), RecordFieldValue("value", item_literal)))))
        return Literal("collection", LiteralCollection(tuple(items)))

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        if literal.kind != "collection":
            raise mismatch_from_literal(py_type, literal)
        key_type, item_type = typing.get_args(py_type)
        out = {}
        for item in literal.value.literals:
            fields = {f.name: f.value for f in item.value.fields} if item.kind == "record" else {}
            if set(fields) != {"key", "value"}:
                raise ValueMismatch(type_repr(py_type), "a list that is not of key/value records")
            key = await engine.to_python_nested(fields["key"], key_type, ctx)
            out[key] = await engine.to_python_nested(fields["value"], item_type, ctx)
        return out


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
            return await self._untagged(literal, py_type, engine, ctx)
        union: UnionValue = literal.value
        for member in typing.get_args(py_type):
            if type_repr(member) == union.tag:
                assert union.value is not None
                return await engine.to_python_nested(union.value, member, ctx)
        raise ValueMismatch(type_repr(py_type), f"a value tagged {union.tag!r}")


    async def _untagged(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        # a value stored without its variant's tag (a map's items where None marks the failed
        # ones, another SDK's literal) is read as the one variant whose reading takes it; when
        # several do (date | datetime, two records of the same fields), which was meant is not
        # known, and the first would lose what the others keep: refused, as flytekit refuses it
        members = typing.get_args(py_type)
        if len(members) == 2 and type(None) in members:  # X | None (a map's items): None reads only none
            if literal.kind == "none":
                return None
            try:
                return await engine.to_python_nested(literal, members[members[0] is type(None)], ctx)
            except ValueMismatch:
                raise mismatch_from_literal(py_type, literal) from None
        taken: list[tuple[Any, Any]] = []
        for member in members:
            try:
                taken.append((member, await engine.to_python_nested(literal, member, ctx)))
            except ValueMismatch:
                continue
        if len(taken) == 1:
            return taken[0][1]
        if not taken:
            raise mismatch_from_literal(py_type, literal)
        readers = " and ".join(type_repr(member) for member, _ in taken)
        raise ValueMismatch(type_repr(py_type), f"a {literal.kind} literal without its variant's tag, which "
                            f"{readers} all read: declare the one it is, or return it from a task "
                            f"declaring {type_repr(py_type)}, which tags it")


CONTAINER_TRANSFORMERS: tuple[TypeTransformer, ...] = (
    ListTransformer(), DictTransformer(), KeyedDictTransformer(), UnionTransformer(), AnyTransformer(),
)
