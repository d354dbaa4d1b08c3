"""Typed records (dataclasses, pydantic models, NamedTuples) and enums.

A record is stored field by field with each field's own literal type, so an int
in a nested dataclass comes back an int and never passes through untyped JSON.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import operator
import sys
import typing
from functools import cache
from typing import Any

from wingspan.core.model.literals import (
    EnumType,
    EnumValue,
    Literal,
    LiteralType,
    RecordField,
    RecordFieldValue,
    RecordKind,
    RecordType,
    RecordValue,
)
from wingspan.core.types.engine import TypeEngine, UnsupportedTypeError, mismatch_from_literal, type_repr
from wingspan.core.types.transformer import TransferContext, TypeTransformer, ValueMismatch

__all__ = ["RECORD_TRANSFORMERS", "qualified_name"]


def qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_pydantic_model(py_type: Any) -> bool:
    pydantic = sys.modules.get("pydantic")  # a model class means pydantic is already imported
    return (pydantic is not None and isinstance(py_type, type)
            and issubclass(py_type, pydantic.BaseModel))


def _is_named_tuple(py_type: Any) -> bool:
    return isinstance(py_type, type) and issubclass(py_type, tuple) and hasattr(py_type, "_fields")


@cache
def record_fields(py_type: type) -> list[tuple[str, Any, bool]]:
    """(name, annotation, has a default) for each field, in declaration order (cached)."""
    if dataclasses.is_dataclass(py_type):
        hints = typing.get_type_hints(py_type)
        return [
            (f.name, hints[f.name],
             f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING)
            for f in dataclasses.fields(py_type)
        ]
    if _is_pydantic_model(py_type):
        return [(name, info.annotation, not info.is_required())
                for name, info in py_type.model_fields.items()]  # type: ignore[attr-defined]
    hints = typing.get_type_hints(py_type)
    defaults = getattr(py_type, "_field_defaults", {})
    return [(name, hints[name], name in defaults) for name in py_type._fields]  # type: ignore[attr-defined]


class RecordTransformer(TypeTransformer):
    name = "record"

    def handles(self, py_type: Any) -> bool:
        return isinstance(py_type, type) and (
            dataclasses.is_dataclass(py_type) or _is_pydantic_model(py_type)
            or _is_named_tuple(py_type)
        )

    def _kind(self, py_type: type) -> RecordKind:
        if dataclasses.is_dataclass(py_type):
            return RecordKind.DATACLASS
        if _is_pydantic_model(py_type):
            return RecordKind.PYDANTIC
        return RecordKind.NAMED_TUPLE

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        fields = []
        for name, annotation, has_default in record_fields(py_type):
            try:
                field_type = engine.literal_type(annotation)
            except UnsupportedTypeError as exc:
                raise UnsupportedTypeError(
                    exc.py_type, exc.where,
                    f"field {type_repr(py_type)}.{name}" + (f": {exc.reason}" if exc.reason else ""),
                ) from None
            fields.append(RecordField(name, field_type, has_default))
        record = RecordType(qualified_name(py_type), self._kind(py_type), tuple(fields))
        return LiteralType("record_type", record, annotation=type_repr(py_type))

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        return type(value) is py_type if exact else isinstance(value, py_type)

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine,
                         ctx: TransferContext) -> Literal:
        if not isinstance(value, py_type):
            raise ValueMismatch.of(type_repr(py_type), value)
        fields = []
        for name, annotation, _ in record_fields(py_type):
            try:
                literal = await engine.to_literal_nested(getattr(value, name), annotation, ctx)
            except ValueMismatch as exc:
                raise exc.within(f".{name}") from None
            fields.append(RecordFieldValue(name, literal))
        return Literal("record", RecordValue(qualified_name(py_type), tuple(fields)))

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        if literal.kind != "record":
            raise mismatch_from_literal(py_type, literal)
        stored = {f.name: f.value for f in literal.value.fields}
        values = {}
        for name, annotation, has_default in record_fields(py_type):
            if name in stored:
                values[name] = await engine.to_python_nested(stored[name], annotation, ctx)
            elif not has_default:
                raise ValueMismatch(type_repr(py_type), f"a record without field {name!r}")
        return _construct(py_type, values)


def _construct(py_type: type, values: dict[str, Any]) -> Any:
    if dataclasses.is_dataclass(py_type):
        init = {f.name for f in dataclasses.fields(py_type) if f.init}
        obj = py_type(**{k: v for k, v in values.items() if k in init})
        for name in values.keys() - init:  # fields outside __init__ are set afterwards
            object.__setattr__(obj, name, values[name])
        return obj
    if _is_pydantic_model(py_type):
        # by field name: a field with an alias is not accepted by name in __init__
        return py_type.model_validate(values, by_name=True)  # type: ignore[attr-defined]
    return py_type(**values)


class EnumTransformer(TypeTransformer):
    """Enums travel by member name, so reordering or renumbering values is harmless."""

    name = "enum"

    def handles(self, py_type: Any) -> bool:
        return isinstance(py_type, type) and issubclass(py_type, enum.Enum)

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        values = tuple(member.name for member in py_type)
        return LiteralType("enum_type", EnumType(qualified_name(py_type), values),
                           annotation=type_repr(py_type))

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        return isinstance(value, py_type)

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine,
                         ctx: TransferContext) -> Literal:
        if not isinstance(value, py_type):
            raise ValueMismatch.of(type_repr(py_type), value)
        if isinstance(value, enum.Flag):
            return Literal("enum", EnumValue(_flag_names(value)))
        return Literal("enum", EnumValue(value.name))

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        if literal.kind != "enum":
            raise mismatch_from_literal(py_type, literal)
        name: str = literal.value.name
        try:
            if issubclass(py_type, enum.Flag) and name not in py_type.__members__:
                # a combination of flags ("READ|WRITE"), or none of them ("")
                return functools.reduce(operator.or_, (py_type[n] for n in name.split("|") if n),
                                        py_type(0))
            return py_type[name]
        except KeyError:
            raise ValueMismatch(type_repr(py_type), f"unknown member {name!r}") from None


def _flag_names(value: enum.Flag) -> str:
    """A member's name, else the names of the members a flag combines joined by "|" ("" for none)."""
    flag = type(value)
    if value.name is not None and value.name in flag.__members__:
        return value.name
    names = [m.name for m in flag if m.name is not None and m in value]  # single-bit members
    if functools.reduce(operator.or_, (flag[n] for n in names), flag(0)) != value:
        raise ValueMismatch(type_repr(flag), "a flag with bits no member names", repr(value)[:60])
    return "|".join(names)


RECORD_TRANSFORMERS: tuple[TypeTransformer, ...] = (EnumTransformer(), RecordTransformer())
