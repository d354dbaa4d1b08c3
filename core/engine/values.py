"""Values inside the engine: Python objects, or literals not yet converted.

In one process a task's outputs stay Python objects and flow to the next task
untouched. Constants from the workflow template, and values that came from
another process, stay literals until a consumer with Python types needs them.
"""

from __future__ import annotations

import copy
import datetime
import decimal
import enum
import typing
from collections.abc import Mapping
from typing import Any

from wingspan.core.errors import TypeTransformerError
from wingspan.core.model.literals import Literal
from wingspan.core.model.workflows import PathStep
from wingspan.core.types import UnsupportedTypeError, ValueMismatch, default_engine
from wingspan.core.types.containers import union_variants
from wingspan.core.types.naturals import to_natural
from wingspan.core.types.passthrough import LiteralSlot
from wingspan.core.types.purity import to_python_now

__all__ = ["all_immutable", "isolated", "materialize", "natural", "own_inputs", "step_into"]


def materialize(value: Any, py_type: Any, name: str = "") -> Any:
    """``value`` as a Python object of ``py_type``, converting any literal inside it."""
    if isinstance(py_type, LiteralSlot):
        return value  # a variable of registered code the server does not import: literals stay
    if isinstance(value, Literal):
        return to_python_now(value, py_type, name)
    if type(value) is list and value and any(isinstance(v, (Literal, list, dict)) for v in value):
        item = _member(py_type, list)
        return [materialize(v, item, name) for v in value]
    if type(value) is dict and value and any(isinstance(v, (Literal, list, dict)) for v in value.values()):
        item = _member(py_type, dict)
        return {k: materialize(v, item, name) for k, v in value.items()}
    return value


# values no task can change: handed on as they are (the fast path: most values are these)
_IMMUTABLE = frozenset({int, float, bool, str, bytes, complex, type(None), datetime.datetime, datetime.date,
                        datetime.time, datetime.timedelta, decimal.Decimal, range})


# own_inputs runs for every node: the immutable values it hands on unchecked (a datetime is looked at
# apart, as it may be going where a date is declared), and the types bound once
_AS_THEY_ARE = _IMMUTABLE - {datetime.datetime}
_DATETIME = datetime.datetime
# where a datetime arrives as its date (inside a list or record it stays a datetime in one process)
_DATE_DECLARED = (datetime.date, datetime.date | None)


def isolated(value: Any, py_type: Any = None) -> Any:
    """``value`` as a task's own: a copy when the task could change it in place.

    In one process a task's outputs reach every consumer as the same objects; on a server each
    consumer decodes its own. A task appending to its input list must not change what a
    sibling receives, so mutable values are copied per consumer (files and folders are copied
    on first use, see ``File.__deepcopy__``); immutable ones, and literals (decoded anew by
    each consumer), are not.
    """
    kind = type(value)
    if kind in _IMMUTABLE or isinstance(value, (Literal, enum.Enum)):
        return value
    transformer = None
    if py_type is not None:  # in the form the consumer declared (a pandas frame as arrow...)
        engine = default_engine()
        try:
            transformer = engine.transformer_for(py_type)
        except UnsupportedTypeError:  # a type only a transformer registered elsewhere serves
            transformer = None
        if transformer is not None:
            value = transformer.adapt(value, py_type, engine)
            kind = type(value)
    if kind.__module__.partition(".")[0] == "pyarrow":  # arrow's tables and arrays are immutable
        return value
    try:
        # a transformer knows its type's copy (a lazy Dask frame copies its graph, not its data)
        return transformer.copy_for_task(value) if transformer is not None else copy.deepcopy(value)
    except Exception as exc:
        raise TypeTransformerError(
            f"its {type(value).__qualname__} value cannot be copied for this task ({type(exc).__name__}: "
            f"{exc}); in one process each task gets its own copy, as on a server it gets its own "
            "decoded value: make the type copyable (copy.deepcopy, or a __deepcopy__ method)") from exc


def all_immutable(values: list[Any]) -> bool:
    """Whether every item passes as it is (checked at C speed: a map's items are many)."""
    return all(map(_IMMUTABLE.__contains__, map(type, values)))


def own_inputs(values: dict[str, Any], py_types: Mapping[str, Any]) -> dict[str, Any]:
    """A consumer's inputs as its own Python objects: literals converted, the rest isolated."""
    own = {}
    for name, value in values.items():
        if type(value) in _AS_THEY_ARE:  # the common case: nothing to convert or copy
            own[name] = value
            continue
        if type(value) is _DATETIME:  # where a date is declared, its date, as its literal reads
            own[name] = value.date() if py_types.get(name) in _DATE_DECLARED else value
            continue
        py_type = py_types.get(name)
        if isinstance(value, Literal):
            own[name] = materialize(value, py_type, name)
            continue
        try:
            own[name] = isolated(materialize(value, py_type, name), py_type)
        except ValueMismatch as exc:  # the consumer's declared form refuses it (a frame's columns)
            raise TypeTransformerError(f"input {exc.render(name)}") from None
        except TypeTransformerError as exc:  # it cannot be copied
            raise TypeTransformerError(f"input {name!r}: {exc}") from exc.__cause__
    return own


def _member(py_type: Any, container: type) -> Any:
    members = union_variants(py_type)
    if members is not None:
        py_type = next((m for m in members if typing.get_origin(m) is container), py_type)
    args = typing.get_args(py_type)
    if container is list:
        return args[0] if args else Any
    return args[1] if len(args) == 2 else Any


def step_into(value: Any, step: PathStep) -> Any:
    """``value[index]``, ``value[key]`` or ``value.field``, on Python objects and literals."""
    if isinstance(value, Literal):
        return _literal_step(value, step)
    if step.kind == "index":
        return value[step.value]
    if isinstance(value, dict):
        return value[step.value]
    return getattr(value, step.value)


def _literal_step(literal: Literal, step: PathStep) -> Any:
    if literal.kind == "union":
        literal = literal.value.value
    if literal.kind == "collection" and step.kind == "index":
        return literal.value.literals[step.value]
    if literal.kind == "map":
        return literal.value.literals[step.value]
    if literal.kind == "record":
        for field in literal.value.fields:
            if field.name == step.value:
                return field.value
    raise KeyError(f"cannot take {step.value!r} of a {literal.kind} literal")


#: the literal kinds a condition compares (as their plain values, :func:`to_natural`)
COMPARABLE_KINDS = frozenset(
    {"integer", "float", "string", "boolean", "binary", "big_integer", "none", "enum"})


def natural(value: Any) -> Any:
    """A plain Python value for comparisons: literals of simple kinds become int, str, ..."""
    if not isinstance(value, Literal):
        return value
    inner = value
    while inner.kind == "union":
        inner = inner.value.value
    if inner.kind not in COMPARABLE_KINDS:
        raise TypeError(f"cannot compare a {inner.kind} value in a condition; compare one of "
                        f"{', '.join(sorted(COMPARABLE_KINDS))}")
    return to_natural(inner)
