"""Protocol-buffer wire format for model records, without building IDL messages.

betterproto2 spends ~14 µs on one int literal and seconds on a 10,000-node closure;
this writes and reads the same wire format straight from the records. The layout of
each message (field numbers, wire types, nested classes) is read once from the
generated IDL classes, so the IDL stays the one description of the format; a test
checks that what one side writes the other reads back.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from typing import Any

from wingspan.core.model.mirrored import model_classes
from wingspan.core.model.record import fields_of

__all__ = ["decode_message", "encode_message", "length_delimited"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5
_SCALAR_DEFAULTS: dict[str, Any] = {
    "string": "", "bytes": b"", "bool": False, "double": 0.0, "float": 0.0, "enum": 0,
    "int32": 0, "int64": 0, "uint32": 0, "uint64": 0, "sint32": 0, "sint64": 0,
}


class _Field:
    __slots__ = ("default", "element_wire", "entry", "kind", "name", "number", "presence", "repeated",
                 "sub", "tag")

    def __init__(self, name: str, number: int, kind: str, repeated: bool, presence: bool,
                 sub: Any = None, entry: tuple[_Field, _Field] | None = None) -> None:
        self.name, self.number, self.kind = name, number, kind
        self.repeated, self.presence, self.sub, self.entry = repeated, presence, sub, entry
        # the wire type of one element; a list of numbers travels packed in one LEN field
        self.element_wire = _LEN if kind in ("string", "bytes", "message", "map", "timestamp",
                                             "duration") else (
            _I64 if kind == "double" else _I32 if kind == "float" else _VARINT)
        self.tag = _varint((number << 3) | (_LEN if repeated else self.element_wire))
        self.default = _SCALAR_DEFAULTS.get(kind)


class _Plan:
    __slots__ = ("by_number", "cls", "fields", "oneof", "oneof_fields")

    def __init__(self, cls: type, fields: list[_Field], oneof: str | None,
                 oneof_fields: dict[str, _Field]) -> None:
        self.cls = cls
        self.fields = fields
        self.oneof = oneof
        self.oneof_fields = oneof_fields
        self.by_number = {f.number: f for f in [*fields, *oneof_fields.values()]}


_PLANS: dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _build_plan(cls)
    return plan


def _build_plan(cls: type) -> _Plan:
    import dataclasses

    from wingspan.protos import v1

    message_cls = getattr(v1, cls.__name__)
    meta = message_cls._betterproto
    models = model_classes()
    oneof = getattr(cls, "__oneof__", None)
    plain_names = {f.name for f in fields_of(cls)} - ({"kind", "value"} if oneof else set())
    fields: list[_Field] = []
    grouped: dict[str, _Field] = {}
    for dc_field in sorted(dataclasses.fields(message_cls), key=lambda f: f.metadata["betterproto"].number):
        fm = dc_field.metadata["betterproto"]
        name = dc_field.name
        kind, sub, entry = fm.proto_type, None, None
        if kind == "message":
            if fm.unwrap is not None:
                kind = "timestamp" if fm.unwrap().__name__ == "Timestamp" else "duration"
            else:
                sub = models[meta.cls_by_field[name].__name__]
        elif kind == "map":
            key_meta, value_meta = fm.map_meta
            value_sub = (models[meta.cls_by_field[f"{name}.value"].__name__]
                         if value_meta.proto_type == "message" else None)
            entry = (_Field("key", 1, key_meta.proto_type, False, True),
                     _Field("value", 2, value_meta.proto_type, False, True, value_sub))
        elif kind == "enum":
            sub = models[meta.cls_by_field[name].__name__]
        presence = fm.optional or fm.group is not None
        spec = _Field(name, fm.number, kind, fm.repeated, presence, sub, entry)
        if fm.group is not None:
            grouped[name] = spec
        elif name in plain_names:
            fields.append(spec)
    return _Plan(cls, fields, oneof, grouped)


# ---- writing ---------------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def length_delimited(number: int, data: bytes) -> bytes:
    """Field ``number`` holding ``data`` (an embedded message's encoding, or bytes) in the wire
    format: messages concatenated merge, so a message's fields may be written piece by piece."""
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63) if value >= 0 else ((-value) << 1) - 1


def _scalar(kind: str, value: Any) -> bytes:
    if kind == "string":
        data: bytes = value.encode()
        return _varint(len(data)) + data
    if kind == "bytes":
        return _varint(len(value)) + bytes(value)
    if kind == "double":
        return struct.pack("<d", value)
    if kind == "float":
        return struct.pack("<f", value)
    if kind in ("sint64", "sint32"):
        return _varint(_zigzag(value))
    if kind == "bool":
        return b"\x01" if value else b"\x00"
    return _varint(int(value))


def _timestamp(value: datetime) -> bytes:
    delta = value - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    seconds, rest = divmod(micros, 1_000_000)
    return _seconds_nanos(seconds, rest * 1000)


def _duration(value: timedelta) -> bytes:
    micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    sign = -1 if micros < 0 else 1
    seconds, rest = divmod(abs(micros), 1_000_000)
    return _seconds_nanos(sign * seconds, sign * rest * 1000)


def _seconds_nanos(seconds: int, nanos: int) -> bytes:
    out = b""
    if seconds:
        out += b"\x08" + _varint(seconds)
    if nanos:
        out += b"\x10" + _varint(nanos)
    return out


def _value(spec: _Field, value: Any, out: bytearray) -> None:
    """Appends one (non-repeated) field with its tag."""
    kind = spec.kind
    if kind == "message":
        body = encode_message(value)
        out += spec.tag
        out += _varint(len(body))
        out += body
    elif kind == "timestamp" or kind == "duration":
        body = _timestamp(value) if kind == "timestamp" else _duration(value)
        out += spec.tag
        out += _varint(len(body))
        out += body
    else:
        out += spec.tag
        out += _scalar(kind, value)


def _field(spec: _Field, value: Any, out: bytearray) -> None:
    if spec.kind == "map":
        key_spec, value_spec = spec.entry  # type: ignore[misc]
        for key in sorted(value):
            body = bytearray()
            _value(key_spec, key, body)
            _value(value_spec, value[key], body)
            out += spec.tag
            out += _varint(len(body))
            out += body
    elif spec.repeated:
        if spec.kind in _SCALAR_DEFAULTS and spec.kind not in ("string", "bytes"):
            if value:
                packed = b"".join(_scalar(spec.kind, v) for v in value)
                out += spec.tag
                out += _varint(len(packed))
                out += packed
        else:
            for item in value:
                _value(spec, item, out)
    elif spec.presence or (value != spec.default if spec.default is not None else True):
        _value(spec, value, out)


def encode_message(obj: Any) -> bytes:
    """The wire bytes of a model record."""
    plan = _plan(type(obj))
    out = bytearray()
    pending = plan.fields
    chosen = plan.oneof_fields.get(obj.kind) if plan.oneof else None
    for spec in pending:
        if chosen is not None and chosen.number < spec.number:
            _field(chosen, obj.value, out)
            chosen = None
        value = getattr(obj, spec.name)
        if value is not None:
            _field(spec, value, out)
    if chosen is not None:
        _field(chosen, obj.value, out)
    return bytes(out)


# ---- reading ---------------------------------------------------------------------------------


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _unzigzag(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


def _decode_scalar(kind: str, data: bytes, pos: int, wire: int) -> tuple[Any, int]:
    if wire == _LEN:
        length, pos = _read_varint(data, pos)
        chunk = data[pos:pos + length]
        return (chunk.decode() if kind == "string" else bytes(chunk)), pos + length
    if wire == _I64:
        return struct.unpack_from("<d", data, pos)[0], pos + 8
    if wire == _I32:
        return struct.unpack_from("<f", data, pos)[0], pos + 4
    raw, pos = _read_varint(data, pos)
    if kind in ("sint64", "sint32"):
        return _unzigzag(raw), pos
    if kind == "bool":
        return raw != 0, pos
    if kind in ("int64", "int32"):
        return _signed64(raw), pos
    return raw, pos


def _decode_seconds_nanos(data: bytes) -> tuple[int, int]:
    seconds = nanos = 0
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        raw, pos = _read_varint(data, pos)
        if key >> 3 == 1:
            seconds = _signed64(raw)
        elif key >> 3 == 2:
            nanos = _signed64(raw)  # a negative int32 travels sign-extended to 64 bits
    return seconds, nanos


def _decode_value(spec: _Field, data: bytes, pos: int, wire: int) -> tuple[Any, int]:
    kind = spec.kind
    if kind in ("message", "timestamp", "duration"):
        length, pos = _read_varint(data, pos)
        chunk = data[pos:pos + length]
        pos += length
        if kind == "message":
            return decode_message(spec.sub, chunk), pos
        seconds, nanos = _decode_seconds_nanos(chunk)
        if kind == "timestamp":
            return _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000), pos
        return timedelta(seconds=seconds, microseconds=int(nanos / 1000)), pos
    value, pos = _decode_scalar(kind, data, pos, wire)
    if kind == "enum":
        value = spec.sub(value) if value in spec.sub._value2member_map_ else value
    return value, pos


def _skip(data: bytes, pos: int, wire: int) -> int:
    if wire == _VARINT:
        return _read_varint(data, pos)[1]
    if wire == _I64:
        return pos + 8
    if wire == _I32:
        return pos + 4
    length, pos = _read_varint(data, pos)
    return pos + length


def _initial(spec: _Field) -> Any:
    if spec.kind == "map":
        return {}
    if spec.repeated:
        return []
    if spec.presence or spec.kind in ("message", "timestamp", "duration"):
        return None
    if spec.kind == "enum":
        return spec.sub(0)
    return spec.default


def decode_message(cls: type, data: bytes) -> Any:
    """A model record of ``cls`` from wire bytes; unknown fields are skipped."""
    plan = _plan(cls)
    values: dict[str, Any] = {spec.name: _initial(spec) for spec in plan.fields}
    kind, chosen = "", None
    pos, end = 0, len(data)
    by_number = plan.by_number
    while pos < end:
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        spec = by_number.get(number)
        if spec is None:
            pos = _skip(data, pos, wire)
            continue
        if spec.kind == "map":
            length, pos = _read_varint(data, pos)
            entry = data[pos:pos + length]
            pos += length
            key_spec, value_spec = spec.entry  # type: ignore[misc]
            item_key, item_value, inner = key_spec.default, None, 0
            while inner < len(entry):
                entry_key, inner = _read_varint(entry, inner)
                if entry_key >> 3 == 1:
                    item_key, inner = _decode_value(key_spec, entry, inner, entry_key & 7)
                elif entry_key >> 3 == 2:
                    item_value, inner = _decode_value(value_spec, entry, inner, entry_key & 7)
                else:
                    inner = _skip(entry, inner, entry_key & 7)
            if item_value is None and value_spec.sub is not None:
                item_value = value_spec.sub()
            values[spec.name][item_key] = item_value
        elif spec.repeated and wire == _LEN and spec.kind in _SCALAR_DEFAULTS \
                and spec.kind not in ("string", "bytes"):
            length, pos = _read_varint(data, pos)
            stop = pos + length
            while pos < stop:
                item, pos = _decode_value(spec, data, pos, spec.element_wire)
                values[spec.name].append(item)
        elif spec.repeated:
            item, pos = _decode_value(spec, data, pos, wire)
            values[spec.name].append(item)
        else:
            value, pos = _decode_value(spec, data, pos, wire)
            if spec.name in plan.oneof_fields:
                kind, chosen = spec.name, value
            else:
                values[spec.name] = value
    for spec in plan.fields:
        if spec.repeated and spec.kind != "map":
            values[spec.name] = tuple(values[spec.name])
    if plan.oneof:
        values["kind"], values["value"] = kind, chosen
    return cls(**values)



