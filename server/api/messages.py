"""IDL requests from JSON or protobuf bytes, checked whole in one place before any service sees them.

Both transports decode through here (:func:`decode_json` for HTTP, :func:`decode_protobuf`
for gRPC), so a request both accept is the same request. What is refused, as an
InvalidArgumentError naming the message, the field and what to send instead:

- JSON that is not one object, an unknown or misspelt field (the JSON names are the
  camelCase ones of the OpenAPI document), a value of the wrong JSON type (``1.5``,
  ``true`` or ``"2"`` for a 32-bit integer (``2.0`` is 2); 64-bit integers may be decimal strings, as
  the proto3 JSON mapping writes them), ``null``, an enum by number or unknown name;
- protobuf bytes that do not parse, a field sent with the wrong wire type (betterproto2
  reads it into a value of the wrong Python type, which then fails late, after a
  service may have written), an unknown field number or enum value;
- in both: a number out of its type's range, two fields of one oneof, text with a NUL
  character (PostgreSQL cannot store one) or longer than ``max_text_chars``. Values
  inside a Literal are exempt from the text rules: they are user data, kept as bytes,
  and round-trip exactly.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
import json
import re
from typing import Any

import betterproto2
from betterproto2 import casing

from wingspan.core.config import Settings
from wingspan.core.errors import InvalidArgumentError
from wingspan.server.api.contract import check_rules

__all__ = [
    "DEFAULT_MAX_TEXT_CHARS",
    "JSON_PATTERNS",
    "check_message",
    "decode_json",
    "decode_protobuf",
    "encode_json",
]

#: Settings.max_text_chars's default
DEFAULT_MAX_TEXT_CHARS: int = next(
    int(f.default) for f in dataclasses.fields(Settings) if f.name == "max_text_chars"  # type: ignore[arg-type]
)

_INT32 = frozenset({"int32", "sint32", "sfixed32", "uint32", "fixed32"})
_INT64 = frozenset({"int64", "sint64", "sfixed64", "uint64", "fixed64"})
_RANGES = {
    "int32": (-(2**31), 2**31 - 1), "sint32": (-(2**31), 2**31 - 1), "sfixed32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1), "fixed32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1), "sint64": (-(2**63), 2**63 - 1), "sfixed64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1), "fixed64": (0, 2**64 - 1),
}
#: what a JSON string must look like for each kind of value carried as one (the OpenAPI document
#: states the same); 64-bit integers as strings stay below 10**18 (10**19 unsigned), inside their range
JSON_PATTERNS = {
    "int64": r"-?(0|[1-9][0-9]{0,17})",
    "uint64": r"(0|[1-9][0-9]{0,18})",
    "bytes": r"([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?",
    "timestamp": r"[1-8][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
                 r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
                 r"(\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])",
    "duration": r"[0-9]{1,12}(\.[0-9]{1,9})?s",
}
_MATCH = {kind: re.compile(pattern) for kind, pattern in JSON_PATTERNS.items()}
_FLOAT_WORDS = frozenset({"NaN", "Infinity", "-Infinity"})
_EXEMPT = "Literal"  # user data: any text, any length (offloaded when large)


def decode_json(
    message_type: type[Any], body: bytes, *, max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
) -> Any:
    """The request in ``body``, which must be a JSON object (``{}`` for the empty request: an empty
    or blank body is refused, so that a request cut short is never read as one without fields)."""
    name = message_type.__name__
    if not body.strip():
        raise InvalidArgumentError(f"the body is empty: send a {name} as a JSON object ({{}} for no fields)")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InvalidArgumentError(f"the body is not valid JSON for a {name}: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidArgumentError(f"the body must be a JSON object (a {name}), not {type(data).__name__}")
    _check_json(data, message_type, name)
    try:
        message = message_type.from_dict(data)
    except Exception as exc:  # betterproto2 raises many kinds for malformed input
        raise InvalidArgumentError(f"invalid {name}: {type(exc).__name__}: {exc}") from None
    check_message(message, name, max_text_chars=max_text_chars)
    try:
        bytes(message)  # anything else that cannot be encoded fails here, not in a service
    except Exception as exc:
        raise InvalidArgumentError(f"invalid {name}: {type(exc).__name__}: {exc}") from None
    return message


def decode_protobuf(
    message_type: type[Any], data: bytes, *, max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
) -> Any:
    name = message_type.__name__
    try:
        message = message_type.FromString(data)
    except Exception as exc:
        raise InvalidArgumentError(f"malformed {name}: not a protobuf message ({exc})") from None
    check_message(message, name, max_text_chars=max_text_chars)
    return message


def encode_json(message: Any) -> bytes:
    return json.dumps(message.to_dict(), separators=(",", ":")).encode()


@functools.cache
def _json_names(message_type: Any) -> dict[str, str]:
    """JSON name -> field name (what ``to_dict`` writes)."""
    return {casing.camel_case(f, strict=False): f for f in message_type._betterproto.meta_by_field_name}


def _check_json(data: dict[Any, Any], message_type: Any, path: str) -> None:
    meta = message_type._betterproto
    names = _json_names(message_type)
    for key, value in data.items():
        field_name = names.get(key)
        if field_name is None:
            valid = ", ".join(sorted(names)) or "none"
            raise InvalidArgumentError(f"{path}: unknown field {key!r}; the fields are: {valid}")
        where = f"{path}.{key}"
        field = meta.meta_by_field_name[field_name]
        cls = meta.cls_by_field[field_name]
        if value is None:
            raise InvalidArgumentError(f"{where}: null is not a value; leave the field out for its default")
        if field.map_meta is not None:
            if not isinstance(value, dict):
                raise InvalidArgumentError(f"{where}: expected a JSON object (a map), not {_kind(value)}")
            value_cls = meta.cls_by_field[f"{field_name}.value"]
            for item_key, item in value.items():
                _check_json_value(item_key, field.map_meta[0], str, f"{where} key", map_key=True)
                _check_json_value(item, field.map_meta[1], value_cls, f"{where}[{item_key!r}]")
        elif field.repeated:
            if not isinstance(value, list):
                raise InvalidArgumentError(f"{where}: expected a JSON array, not {_kind(value)}")
            for index, item in enumerate(value):
                _check_json_value(item, field, cls, f"{where}[{index}]")
        else:
            _check_json_value(value, field, cls, where)


def _check_json_value(value: Any, field: Any, cls: Any, where: str, *, map_key: bool = False) -> None:
    kind = field.proto_type
    if value is None:
        raise InvalidArgumentError(f"{where}: null is not a value; leave it out for its default")
    if kind == "message":
        if field.unwrap is not None:  # Timestamp or Duration: a string in JSON
            form = "timestamp" if cls is datetime.datetime else "duration"
            if not isinstance(value, str) or not _MATCH[form].fullmatch(value):
                example = '"2026-01-31T12:00:00Z"' if form == "timestamp" else '"1.5s"'
                raise InvalidArgumentError(
                    f"{where}: expected a {form} such as {example}, not {_shown(value)}")
        elif not isinstance(value, dict):
            raise InvalidArgumentError(
                f"{where}: expected a JSON object (a {cls.__name__}), not {_kind(value)}")
        else:
            _check_json(value, cls, where)
        return
    if kind == "enum":
        names = _enum_names(cls)
        if not isinstance(value, str) or value not in names:
            raise InvalidArgumentError(
                f"{where}: expected one of {', '.join(names)}, not {_kind(value)} {_shown(value)}")
        return
    if map_key or kind == "string":
        ok = isinstance(value, str) and (kind in ("string", "bool") or _decimal(kind, value))
        expected = "a string" if kind in ("string", "bool") else "a decimal integer in a string"
    elif kind == "bool":
        ok, expected = isinstance(value, bool), "true or false"
    elif kind in _INT32:
        ok, expected = _integral(value), "an integer"
    elif kind in _INT64:
        ok = _integral(value) or (isinstance(value, str) and _decimal(kind, value))
        expected = "an integer (or a decimal integer in a string)"
    elif kind in ("double", "float"):
        ok = type(value) in (int, float) or (isinstance(value, str) and value in _FLOAT_WORDS)
        expected = 'a number (or "NaN", "Infinity", "-Infinity")'
    elif kind == "bytes":
        ok = isinstance(value, str) and _MATCH["bytes"].fullmatch(value) is not None
        expected = "base64 text"
    else:
        ok, expected = True, ""
    if not ok:
        raise InvalidArgumentError(f"{where}: expected {expected}, not {_kind(value)} {_shown(value)}")


def _integral(value: Any) -> bool:
    """An integer, or a number without a fraction (JSON does not tell 2.0 from 2)."""
    return type(value) is int or (type(value) is float and value.is_integer())


def _decimal(kind: str, value: str) -> bool:
    form = "uint64" if kind.startswith(("uint", "fixed")) else "int64"
    return _MATCH[form].fullmatch(value) is not None


@functools.cache
def _enum_names(cls: Any) -> tuple[str, ...]:
    """The names of an enum's values in JSON (as ``to_dict`` writes them)."""
    return tuple(member.proto_name or member.name for member in cls)


def _kind(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
            dict: "an object"}.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, str | int | float | bool) else ""
    return text if len(text) <= 40 else text[:37] + "..."


def check_message(message: Any, path: str, *, max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
                  text: bool = True) -> None:
    """Raises InvalidArgumentError for a value of the wrong type (a wrong wire type), an unknown
    field or enum value, a number out of its type's range, a oneof set twice, or (with ``text``)
    a string holding a NUL character or longer than ``max_text_chars``."""
    meta = message._betterproto
    text = text and type(message).__name__ != _EXEMPT
    unknown = getattr(message, "_unknown_fields", b"")
    if unknown:
        raise InvalidArgumentError(
            f"{path}: unknown fields ({len(unknown)} bytes) in the message; is the client's IDL newer than "
            "the server's? (GetVersion says the server's API level)")
    for group, fields in meta.oneof_field_by_group.items():
        chosen = sorted(f.name for f in fields if getattr(message, f.name) is not None)
        if len(chosen) > 1:
            raise InvalidArgumentError(f"{path}: set one field of {group!r}, not {', '.join(chosen)}")
    for name, field in meta.meta_by_field_name.items():
        value = getattr(message, name)
        if value is None:
            continue
        where = f"{path}.{name}"
        if field.map_meta is not None:
            if not isinstance(value, dict):
                raise InvalidArgumentError(f"{where}: expected a map, not {type(value).__name__}")
            value_cls = meta.cls_by_field[f"{name}.value"]
            for key, item in value.items():
                _check_value(key, field.map_meta[0], type(key), f"{where} key", max_text_chars, text)
                _check_value(item, field.map_meta[1], value_cls, f"{where}[{key!r}]", max_text_chars, text)
        elif field.repeated:
            if not isinstance(value, list):
                raise InvalidArgumentError(f"{where}: expected a repeated field, not {type(value).__name__}")
            for item in value:
                _check_value(item, field, meta.cls_by_field[name], where, max_text_chars, text)
        else:
            _check_value(value, field, meta.cls_by_field[name], where, max_text_chars, text)
    check_rules(message, path)  # its fields are of the right types now


def _check_value(value: Any, field: Any, cls: Any, where: str, max_text_chars: int, text: bool) -> None:
    kind = field.proto_type
    if kind == "message":
        if not isinstance(value, cls):
            raise InvalidArgumentError(f"{where}: expected a {cls.__name__} (a wrong wire type?), "
                                       f"not {type(value).__name__}")
        if isinstance(value, betterproto2.Message):
            check_message(value, where, max_text_chars=max_text_chars, text=text)
        return
    if kind == "enum":
        if not isinstance(value, enum.Enum) or value.name not in type(value).__members__:
            shown = value.value if isinstance(value, enum.Enum) else value
            raise InvalidArgumentError(f"{where}: {shown!r} is not a value of {cls.__name__}")
        return
    expected: type | tuple[type, ...] = {"string": str, "bytes": bytes, "bool": bool,
                                         "double": float, "float": float}.get(kind, int)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise InvalidArgumentError(
            f"{where}: expected a {kind} (a wrong wire type?), not {type(value).__name__}")
    bounds = _RANGES.get(kind)
    if bounds is not None and isinstance(value, int) and not bounds[0] <= value <= bounds[1]:
        shown = str(value) if len(str(value)) <= 40 else f"{str(value)[:20]}... ({len(str(value))} digits)"
        raise InvalidArgumentError(
            f"{where}: {shown} is out of range for a {kind} ({bounds[0]} to {bounds[1]})")
    if text and isinstance(value, str):
        if "\x00" in value:
            raise InvalidArgumentError(f"{where}: text may not hold a NUL character (\\x00)")
        if len(value) > max_text_chars:
            raise InvalidArgumentError(
                f"{where}: {len(value)} characters is above the limit of {max_text_chars} for one text "
                "field (max_text_chars); keep large data in files or literals")
