"""``@record``: immutable value classes that cost almost nothing to define.

``dataclass(frozen=True, slots=True)`` compiles generated source for every class,
about 1.7 ms each; the model has some eighty classes and ``import wingspan`` must
stay under 0.3 s. A record gets the same behaviour (keyword or positional
construction, defaults and default factories, equality, hashing, repr, no
mutation, ``__slots__``) from shared closures instead, and an ``__init__`` compiled
when the class is first instantiated (so only classes in use pay for it).
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

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        # the first construction compiles a plain __init__ for the class and installs it:
        # twice as fast per object as this loop, and paid only by classes that get used
        compiled = _compiled_init(cls.__name__, fields)
        type.__setattr__(new_cls, "__init__", compiled)
        compiled(self, *args, **kwargs)

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


def _compiled_init(class_name: str, fields: list[Field]) -> Callable[..., None]:
    """``def __init__(self, kind=<default>, value=<default>): set(self, "kind", kind) ...``

    A field with a factory or without a default takes a sentinel, so every order of
    defaulted and required fields is valid Python.
    """
    env: dict[str, Any] = {"__set": object.__setattr__, "__missing": _MISSING, "__error": TypeError}
    params, body = [], []
    for index, spec in enumerate(fields):
        name = spec.name
        if spec.factory is None and spec.default is not _MISSING:
            env[f"__default{index}"] = spec.default
            params.append(f"{name}=__default{index}")
        else:
            params.append(f"{name}=__missing")
            if spec.factory is not None:
                env[f"__factory{index}"] = spec.factory
                body.append(f"if {name} is __missing: {name} = __factory{index}()")
            else:
                message = f"{class_name} needs {name!r}"
                body.append(f"if {name} is __missing: raise __error({message!r})")
        body.append(f"__set(__self, {name!r}, {name})")
    source = f"def __init__(__self, {', '.join(params)}):\n    " + "\n    ".join(body or ["pass"])
    exec(source, env)
    init: Callable[..., None] = env["__init__"]
    init.__qualname__ = f"{class_name}.__init__"
    return init


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
