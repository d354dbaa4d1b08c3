"""``@record``: immutable value classes that cost almost nothing to define.

``dataclass(frozen=True, slots=True)`` compiles generated source for every class,
about 1.7 ms each; the model has some eighty classes and ``import wingspan`` must
stay under 0.3 s. A record gets the same behaviour (keyword or positional
construction, defaults and default factories, equality, hashing, repr, no
mutation, ``__slots__``) from shared closures instead.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform

__all__ = ["Field", "fields_of", "is_record", "record", "replace"]

T = TypeVar("T")
_MISSING = object()


class Field:
    """A record field: its name, default (or default factory) and whether it counts in ==."""

    __slots__ = ("compare", "default", "factory", "name")

    def __init__(self, name: str, default: Any, factory: Callable[[], Any] | None, compare: bool) -> None:
        self.name, self.default, self.factory, self.compare = name, default, factory, compare


def _setter(self: Any, name: str, value: Any) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}: records are immutable; "
                                          "use replace(obj, name=value)")


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def record(cls: type[T]) -> type[T]:
    annotations = inspect.get_annotations(cls)
    fields = []
    namespace = {k: v for k, v in cls.__dict__.items() if k not in ("__dict__", "__weakref__")}
    for name, annotation in annotations.items():
        if "ClassVar" in str(annotation):
            continue
        default = namespace.pop(name, _MISSING)
        factory, compare = None, True
        if isinstance(default, dataclasses.Field):
            factory = None if default.default_factory is dataclasses.MISSING else default.default_factory
            compare = default.compare
            default = _MISSING if default.default is dataclasses.MISSING else default.default
        fields.append(Field(name, default, factory, compare))
    names = tuple(f.name for f in fields)
    compared = tuple(f.name for f in fields if f.compare)
    count = len(names)
    set_attr = object.__setattr__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > count:
            raise TypeError(f"{cls.__name__} takes at most {count} arguments ({len(args)} given)")
        for index, spec in enumerate(fields):
            if index < len(args):
                value = args[index]
                if spec.name in kwargs:
                    raise TypeError(f"{cls.__name__} got {spec.name!r} twice")
            elif spec.name in kwargs:
                value = kwargs[spec.name]
            elif spec.factory is not None:
                value = spec.factory()
            elif spec.default is not _MISSING:
                value = spec.default
            else:
                raise TypeError(f"{cls.__name__} needs {spec.name!r}")
            set_attr(self, spec.name, value)
        if kwargs and not kwargs.keys() <= set(names):
            raise TypeError(f"{cls.__name__} has no field(s) {sorted(kwargs.keys() - set(names))}")

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in compared)

    def __hash__(self: Any) -> int:
        return hash((cls.__name__, *(getattr(self, n) for n in compared)))

    def __repr__(self: Any) -> str:
        return f"{cls.__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in names)})"

    def __reduce__(self: Any) -> Any:
        return (new_cls, tuple(getattr(self, n) for n in names))

    namespace.update(
        __slots__=names, __init__=__init__, __eq__=__eq__, __hash__=__hash__, __repr__=__repr__,
        __setattr__=_setter, __delattr__=lambda self, name: _setter(self, name, None),
        __reduce__=__reduce__, __match_args__=names, __record_fields__=tuple(fields),
    )
    new_cls: type[T] = type(cls.__name__, cls.__bases__, namespace)
    new_cls.__qualname__ = cls.__qualname__
    return new_cls


def is_record(obj: Any) -> bool:
    return hasattr(obj, "__record_fields__")


def fields_of(obj: Any) -> tuple[Field, ...]:
    result: tuple[Field, ...] = obj.__record_fields__
    return result


def replace(obj: T, **changes: Any) -> T:
    """A copy of a record with some fields changed."""
    values = {f.name: getattr(obj, f.name) for f in fields_of(obj)}
    values.update(changes)
    return type(obj)(**values)
