"""The OpenAPI document of the HTTP API, written from the IDL's descriptors.

Every message becomes a JSON schema under ``components/schemas`` (named by its full
protobuf name), following the proto3 JSON mapping that betterproto2's
``to_dict()`` writes: camelCase field names, 64-bit integers as decimal strings,
bytes as base64, enums by name, Timestamp as RFC 3339, Duration as ``"1.5s"``.
Fields are never required (proto3 leaves defaults out) and unknown ones are refused.
"""

from __future__ import annotations

import functools
from typing import Any

from wingspan.server.api.methods import Method, methods

__all__ = ["ERROR_SCHEMA", "openapi_document", "schema_name"]

# FieldDescriptorProto.Type
_DOUBLE, _FLOAT, _INT64, _UINT64, _INT32, _FIXED64, _FIXED32, _BOOL, _STRING = 1, 2, 3, 4, 5, 6, 7, 8, 9
_MESSAGE, _BYTES, _UINT32, _ENUM, _SFIXED32, _SFIXED64, _SINT32, _SINT64 = 11, 12, 13, 14, 15, 16, 17, 18
_REPEATED = 3

_FLOAT_SCHEMA = {"anyOf": [{"type": "number"}, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}]}
_SCALARS: dict[int, dict[str, Any]] = {
    _DOUBLE: _FLOAT_SCHEMA,
    _FLOAT: _FLOAT_SCHEMA,
    _INT32: {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1},
    _SINT32: {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1},
    _SFIXED32: {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1},
    _UINT32: {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
    _FIXED32: {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
    _INT64: {"type": "string", "pattern": r"^-?[0-9]{1,19}$", "format": "int64"},
    _SINT64: {"type": "string", "pattern": r"^-?[0-9]{1,19}$", "format": "int64"},
    _SFIXED64: {"type": "string", "pattern": r"^-?[0-9]{1,19}$", "format": "int64"},
    _UINT64: {"type": "string", "pattern": r"^[0-9]{1,20}$", "format": "uint64"},
    _FIXED64: {"type": "string", "pattern": r"^[0-9]{1,20}$", "format": "uint64"},
    _BOOL: {"type": "boolean"},
    _STRING: {"type": "string"},
    _BYTES: {"type": "string", "format": "byte", "pattern": r"^[A-Za-z0-9+/]*={0,2}$"},
}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    ".google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    ".google.protobuf.Duration": {
        "type": "string",
        "pattern": r"^-?[0-9]{1,12}(\.[0-9]{1,9})?s$",
        "description": "seconds with an 's' suffix, e.g. \"1.5s\"",
    },
}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message", "status"],
    "properties": {
        "code": {"type": "string", "description": "the gRPC status name, e.g. NOT_FOUND"},
        "message": {"type": "string"},
        "status": {"type": "integer", "description": "the HTTP status"},
    },
}


def schema_name(full_name: str) -> str:
    """The component name of a message or enum: ``wingspan.v1.Project``."""
    return full_name.lstrip(".")


def _ref(full_name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{schema_name(full_name)}"}


class _Writer:
    def __init__(self, files: Any) -> None:
        self.messages: dict[str, Any] = {}
        self.enums: dict[str, Any] = {}
        for file in files:
            prefix = f".{file.package}" if file.package else ""
            for enum in file.enum_type:
                self.enums[f"{prefix}.{enum.name}"] = enum
            for message in file.message_type:
                self._index(prefix, message)

    def _index(self, prefix: str, message: Any) -> None:
        name = f"{prefix}.{message.name}"
        self.messages[name] = message
        for enum in message.enum_type:
            self.enums[f"{name}.{enum.name}"] = enum
        for nested in message.nested_type:
            self._index(name, nested)

    def field_schema(self, field: Any, schemas: dict[str, Any]) -> dict[str, Any]:
        if field.type == _MESSAGE:
            entry = self.messages[field.type_name]
            if entry.options.map_entry:
                _key, value = entry.field
                return {"type": "object", "additionalProperties": self.single(value, schemas)}
        single = self.single(field, schemas)
        if field.label == _REPEATED:
            return {"type": "array", "items": single}
        return single

    def single(self, field: Any, schemas: dict[str, Any]) -> dict[str, Any]:
        if field.type == _MESSAGE:
            if field.type_name in _WELL_KNOWN:
                return dict(_WELL_KNOWN[field.type_name])
            self.message(field.type_name, schemas)
            return _ref(field.type_name)
        if field.type == _ENUM:
            name = schema_name(field.type_name)
            if name not in schemas:
                values = [v.name for v in self.enums[field.type_name].value]
                schemas[name] = {"type": "string", "enum": values}
            return _ref(field.type_name)
        return dict(_SCALARS[field.type])

    def message(self, full_name: str, schemas: dict[str, Any]) -> None:
        name = schema_name(full_name)
        if name in schemas:
            return
        schemas[name] = {}  # placeholder: recursive messages refer to themselves
        message = self.messages[full_name]
        properties = {f.json_name or f.name: self.field_schema(f, schemas) for f in message.field}
        schemas[name] = {"type": "object", "properties": properties, "additionalProperties": False}


def _operation(method: Method, request_ref: str, response_ref: str) -> dict[str, Any]:
    error = {
        "description": "the request failed",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if method.server_streaming:
        ok = {
            "description": f"a stream of {response_ref}, one JSON object per line",
            "content": {"application/x-ndjson": {"schema": _ref(response_ref)}},
        }
    else:
        ok = {"description": "OK", "content": {"application/json": {"schema": _ref(response_ref)}}}
    return {
        "operationId": method.name,
        "summary": f"{method.name} (gRPC {method.path})",
        "tags": ["admin"],
        "requestBody": {"required": False, "content": {"application/json": {"schema": _ref(request_ref)}}},
        "responses": {"200": ok, "400": error, "404": error, "409": error, "413": error, "default": error},
    }


@functools.cache
def openapi_document(implemented: frozenset[str], version: str) -> dict[str, Any]:
    """The document for the methods named in ``implemented`` (IDL names)."""
    from google.protobuf import descriptor_pb2  # type: ignore[import-untyped]

    from wingspan.protos.descriptors import file_descriptor_set

    files = descriptor_pb2.FileDescriptorSet.FromString(file_descriptor_set()).file
    service = next(
        s for f in files if f.package == "wingspan.v1" for s in f.service if s.name == "AdminService"
    )
    io = {m.name: (m.input_type, m.output_type) for m in service.method}
    writer = _Writer(files)
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for method in methods():
        if method.name not in implemented:
            continue
        request_type, response_type = io[method.name]
        writer.message(request_type, schemas)
        writer.message(response_type, schemas)
        paths[f"/api/v1/{method.name}"] = {"post": _operation(method, request_type, response_type)}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Wingspan admin API",
            "version": version,
            "description": "Every RPC of wingspan.v1.AdminService as POST /api/v1/<Method> with "
            "the request message as JSON (proto3 JSON mapping); errors as "
            "{code, message, status}.",
        },
        "paths": paths,
        "components": {"schemas": dict(sorted(schemas.items()))},
    }
