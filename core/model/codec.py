"""Converts model objects to and from IDL messages (and bytes), by name.

Each model class mirrors the message of the same name in :mod:`wingspan.protos.v1`;
a ``oneof`` is the pair ``kind``/``value``. The generated code is imported on first
use only: it is slow to import and most local runs never serialise anything.
"""

from __future__ import annotations

import enum
from functools import cache
from types import ModuleType
from typing import Any, TypeVar

from wingspan.core.model.mirrored import model_classes
from wingspan.core.model.record import fields_of, is_record
from wingspan.core.model.wire import decode_message, encode_message

__all__ = ["decode", "encode", "from_proto", "model_classes", "preload", "to_proto"]

T = TypeVar("T")

@cache
def _v1() -> ModuleType:
    from wingspan.protos import v1

    return v1


def preload() -> None:
    """Loads the generated message classes now, so that the first encode or decode costs no
    more than the next (a warm worker does this before it reports ready)."""
    _v1()


_PLANS: dict[type, tuple[str | None, tuple[str, ...]]] = {}


def _plan(cls: type) -> tuple[str | None, tuple[str, ...]]:
    """The oneof group (if any) and the plain fields of a model class (cached)."""
    plan = _PLANS.get(cls)
    if plan is None:
        oneof: str | None = getattr(cls, "__oneof__", None)
        names = tuple(
            f.name for f in fields_of(cls) if not (oneof and f.name in ("kind", "value"))
        )
        plan = _PLANS[cls] = (oneof, names)
    return plan


def to_proto(obj: Any) -> Any:
    """The IDL message for a model object."""
    cls = type(obj)
    message_cls = getattr(_v1(), cls.__name__)
    oneof, names = _plan(cls)
    kwargs: dict[str, Any] = {}
    if oneof and obj.kind:
        kwargs[obj.kind] = _encode_value(obj.value)
    for name in names:
        value = getattr(obj, name)
        if value is not None:
            kwargs[name] = _encode_value(value)
    return message_cls(**kwargs)


def _encode_value(value: Any) -> Any:
    if is_record(value) and not isinstance(value, type):
        return to_proto(value)
    if isinstance(value, (tuple, list)):
        return [_encode_value(v) for v in value]
    if isinstance(value, dict):
        # sorted so that equal maps serialise to equal bytes
        return {k: _encode_value(value[k]) for k in sorted(value)}
    if isinstance(value, enum.IntEnum):
        return getattr(_v1(), type(value).__name__)(int(value))
    return value


def from_proto(message: Any) -> Any:
    """The model object for an IDL message."""
    import betterproto2

    cls = model_classes()[type(message).__name__]
    oneof, names = _plan(cls)
    kwargs: dict[str, Any] = {}
    if oneof:
        kind, value = betterproto2.which_one_of(message, oneof)
        if kind:
            kwargs["kind"] = kind
            kwargs["value"] = _decode_value(value)
    for name in names:
        kwargs[name] = _decode_value(getattr(message, name))
    return cls(**kwargs)


def _decode_value(value: Any) -> Any:
    import betterproto2

    if isinstance(value, betterproto2.Message):
        return from_proto(value)
    if isinstance(value, list):
        return tuple(_decode_value(v) for v in value)
    if isinstance(value, dict):
        return {k: _decode_value(v) for k, v in value.items()}
    if isinstance(value, enum.IntEnum):
        return model_classes()[type(value).__name__](int(value))
    return value


def encode(obj: Any) -> bytes:
    """Serialises a model object to the IDL's wire format (straight from the record:
    the same bytes betterproto2 would write, some ten times faster)."""
    return encode_message(obj)


def decode(cls: type[T], data: bytes) -> T:
    """Parses wire bytes of the message mirrored by ``cls``."""
    result: T = decode_message(cls, data)
    return result
