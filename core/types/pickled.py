"""The last resort for a type no transformer serves: its values travel pickled.

A plain class, a set or a tuple type passes between tasks as Flyte users expect, but a
pickle can be read only by Python with the same classes importable, so each type that
takes this path is named once, in a warning that says how to give it a real transformer.
The literal is opaque bytes (offloaded to the blob store like any large literal).
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import typing
import warnings
from typing import Any

from wingspan.core.model.literals import Literal, LiteralType, SimpleType
from wingspan.core.types.engine import TypeEngine, mismatch_from_literal, type_repr
from wingspan.core.types.transformer import TransferContext, TypeTransformer, ValueMismatch

__all__ = ["PICKLE_TAG", "PickleTransformer", "PickledTypeWarning", "pickle_literal", "unpickle_literal"]

# the tag of an opaque literal type whose values are pickles
PICKLE_TAG = "pickle"

_warned: set[str] = set()
_warned_lock = threading.Lock()


class PickledTypeWarning(UserWarning):
    """Values of a type with no transformer pass pickled (once per type and process)."""


def warn_pickled(described: str, where: str = "") -> None:
    """Warns, once per process for each ``described`` type, that its values pass pickled."""
    with _warned_lock:
        if described in _warned:
            return
        _warned.add(described)
    location = f"{where}: " if where else ""
    warnings.warn(PickledTypeWarning(
        f"{location}values of type {described} pass between tasks pickled: no transformer serves it, and a "
        "pickle can be read only by Python with the same classes importable. To store it as "
        "data, register a transformer for it: wingspan.core.types.default_engine().register("
        "MyTransformer()) in code, or return one from a plugin's wingspan_type_transformers hook"),
        stacklevel=_user_stacklevel())


# the folder of the wingspan package: frames in it are ours, the first one outside is the user's
_PACKAGE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _user_stacklevel() -> int:
    """The stack level of the first caller outside wingspan (the line defining the task)."""
    frame, level = sys._getframe(1), 1  # the caller of this function: warn_pickled
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


def _described(value_type: type) -> str:
    return f"{value_type.__module__}.{value_type.__qualname__}"


def pickle_literal(value: Any) -> Literal:
    """``value`` as an opaque literal of its pickle; what cannot be pickled names its type."""
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        raise ValueMismatch.of("a value that can be pickled", value,
                               f"{exc}; register a transformer for {type(value).__qualname__}") from None
    return Literal("opaque", data)


def unpickle_literal(literal: Literal, py_type: Any) -> Any:
    if literal.kind != "opaque":
        raise mismatch_from_literal(py_type, literal)
    try:
        # the workflow's own values, written by its own tasks (as Flyte's pickles are)
        return pickle.loads(literal.value)
    except Exception as exc:
        raise ValueMismatch(type_repr(py_type), "a pickle that cannot be read here",
                            detail=f"{type(exc).__name__}: {exc}; is the module of its class "
                                   "importable where the task runs?") from None


def _instance_check(py_type: Any) -> type | None:
    """The class a value of ``py_type`` must be an instance of (None: no check possible)."""
    if isinstance(py_type, type):
        return py_type
    origin = typing.get_origin(py_type)
    return origin if isinstance(origin, type) else None


class PickleTransformer(TypeTransformer):
    """The type engine's fallback: serves any class or generic alias no other transformer does."""

    name = "pickle"

    def handles(self, py_type: Any) -> bool:
        return isinstance(py_type, type) or typing.get_origin(py_type) is not None

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        warn_pickled(type_repr(py_type) if not isinstance(py_type, type) else _described(py_type),
                     engine.resolving_where())
        return LiteralType("simple", SimpleType.OPAQUE, tag=PICKLE_TAG, annotation=type_repr(py_type))

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        cls = _instance_check(py_type)
        if cls is None:
            return True
        return type(value) is cls if exact else isinstance(value, cls)

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine,
                         ctx: TransferContext) -> Literal:
        if not self.fits(value, py_type, engine, exact=False):
            raise ValueMismatch.of(type_repr(py_type), value)
        return pickle_literal(value)

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        value = unpickle_literal(literal, py_type)
        if not self.fits(value, py_type, engine, exact=False):
            raise ValueMismatch.of(type_repr(py_type), value, "the pickle held another type")
        return value
