"""The OpenAPI document of the HTTP API, written from the IDL's descriptors, as strict as the server.

Every message becomes a JSON schema under ``components/schemas`` (named by its full
protobuf name), following the proto3 JSON mapping that betterproto2's ``to_dict()``
writes: camelCase field names, 64-bit integers as decimal strings (or numbers),
bytes as base64, enums by name, Timestamp as RFC 3339, Duration as ``"1.5s"``.
It states what the server checks before any service runs (:mod:`.messages`,
:mod:`.contract`): no unknown field, the JSON type of each value, integer ranges,
at most one field of a oneof, required fields, name patterns, text without NUL and
at most ``max_text_chars`` long. Values inside a Literal are user data, exempt from
the text rules: messages met inside one get a second schema, ``<name>-in-literal``.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

from wingspan.server.api.contract import RULES, FieldRule
from wingspan.server.api.messages import JSON_PATTERNS
from wingspan.server.api.methods import Method, methods
from wingspan.server.api.resources import PATH_PATTERNS, RESOURCES, Resource
from wingspan.server.auth.policy import OPEN

__all__ = ["ERROR_SCHEMA", "openapi_document", "schema_name"]

# FieldDescriptorProto.Type
_DOUBLE, _FLOAT, _INT64, _UINT64, _INT32, _FIXED64, _FIXED32, _BOOL, _STRING = 1, 2, 3, 4, 5, 6, 7, 8, 9
_MESSAGE, _BYTES, _UINT32, _ENUM, _SFIXED32, _SFIXED64, _SINT32, _SINT64 = 11, 12, 13, 14, 15, 16, 17, 18
_REPEATED = 3
_LITERAL = ".wingspan.v1.Literal"
_IN_LITERAL = "-in-literal"
_NO_NUL = "^[^\\u0000]*$"


def _whole(pattern: str, *, optional: bool = False) -> str:
    return f"^({pattern})?$" if optional else f"^({pattern})$"


def _int64(kind: str, low: int, high: int) -> dict[str, Any]:
    return {"anyOf": [
        {"type": "string", "pattern": _whole(JSON_PATTERNS[kind])},
        {"type": "integer", "minimum": low, "maximum": high},
    ]}


_FLOAT_SCHEMA = {"anyOf": [{"type": "number"}, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}]}
_SCALARS: dict[int, dict[str, Any]] = {
    _DOUBLE: _FLOAT_SCHEMA,
    _FLOAT: _FLOAT_SCHEMA,
    _INT32: {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1},
    _SINT32: {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1},
    _SFIXED32: {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1},
    _UINT32: {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
    _FIXED32: {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
    _INT64: _int64("int64", -(2**63), 2**63 - 1),
    _SINT64: _int64("int64", -(2**63), 2**63 - 1),
    _SFIXED64: _int64("int64", -(2**63), 2**63 - 1),
    _UINT64: _int64("uint64", 0, 2**64 - 1),
    _FIXED64: _int64("uint64", 0, 2**64 - 1),
    _BOOL: {"type": "boolean"},
    _STRING: {"type": "string"},
    _BYTES: {"type": "string", "format": "byte", "pattern": _whole(JSON_PATTERNS["bytes"])},
}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    ".google.protobuf.Timestamp": {
        "type": "string", "format": "date-time", "pattern": _whole(JSON_PATTERNS["timestamp"]),
        "description": "RFC 3339, e.g. \"2026-01-31T12:00:00Z\"",
    },
    ".google.protobuf.Duration": {
        "type": "string", "pattern": _whole(JSON_PATTERNS["duration"]),
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


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


class _Writer:
    def __init__(self, files: Any, max_text_chars: int) -> None:
        self.max_text_chars = max_text_chars
        self.schemas: dict[str, Any] = {}
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

    def _text(self, rule: FieldRule | None, exempt: bool) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if rule is not None and rule.pattern is not None:
            schema["pattern"] = _whole(rule.pattern, optional=not rule.required)
        elif not exempt:
            schema["pattern"] = _NO_NUL
        if rule is not None and rule.max_length is not None:
            schema["maxLength"] = rule.max_length
        elif not exempt:
            schema["maxLength"] = self.max_text_chars
        if rule is not None and rule.required:
            schema["minLength"] = 1
        return schema

    def field_schema(self, field: Any, rule: FieldRule | None, exempt: bool) -> dict[str, Any]:
        if field.type == _MESSAGE:
            entry = self.messages[field.type_name]
            if entry.options.map_entry:
                key, value = entry.field
                values = self.single(value, None, exempt)
                schema: dict[str, Any] = {"type": "object", "additionalProperties": values}
                if key.type == _STRING:
                    schema["propertyNames"] = self._text(None, exempt)
                else:
                    schema["propertyNames"] = {"pattern": _whole(JSON_PATTERNS["int64"])}
                return schema
        single = self.single(field, rule, exempt)
        if field.label == _REPEATED:
            return {"type": "array", "items": single}
        return single

    def single(self, field: Any, rule: FieldRule | None, exempt: bool) -> dict[str, Any]:
        if field.type == _MESSAGE:
            if field.type_name in _WELL_KNOWN:
                schema = dict(_WELL_KNOWN[field.type_name])
                if rule is not None and rule.duration_pattern() is not None:
                    schema["pattern"] = _whole(str(rule.duration_pattern()))
                return schema
            ref = _ref(self.message(field.type_name, exempt))
            if rule is None or not rule.requires:
                return ref
            parts = self.messages[field.type_name].field
            names = {f.name: f.json_name or f.name for f in parts}
            kinds = {f.name: f.type for f in parts}
            must = {"required": [names[p] for p in rule.requires], "properties": {
                names[p]: {"minLength": 1} for p in rule.requires if kinds[p] == _STRING}}
            return {"allOf": [ref, must]}
        if field.type == _ENUM:
            if rule is not None and rule.enum is not None:
                return {"type": "string", "enum": list(rule.enum)}
            name = schema_name(field.type_name)
            if name not in self.schemas:
                values = [v.name for v in self.enums[field.type_name].value]
                self.schemas[name] = {"type": "string", "enum": values}
            return _ref(name)
        if field.type == _STRING:
            return self._text(rule, exempt)
        schema = dict(_SCALARS[field.type])
        if rule is not None and rule.maximum is not None:
            schema["maximum"] = rule.maximum
        if field.type == _BYTES and rule is not None and rule.base64_pattern() is not None:
            schema["pattern"] = _whole(str(rule.base64_pattern()), optional=True)
        return schema

    def message(self, full_name: str, exempt: bool = False) -> str:
        """The component name of the message's schema, written on first use."""
        exempt = exempt or full_name == _LITERAL
        name = schema_name(full_name) + (_IN_LITERAL if exempt and full_name != _LITERAL else "")
        if name in self.schemas:
            return name
        self.schemas[name] = {}  # placeholder: recursive messages refer to themselves
        message = self.messages[full_name]
        rules = RULES.get(message.name, {})
        properties = {}
        required = []
        for field in message.field:
            json_name = field.json_name or field.name
            rule = rules.get(field.name)
            properties[json_name] = self.field_schema(field, rule, exempt)
            if rule is not None and rule.required:
                required.append(json_name)
        schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
        if required:
            schema["required"] = required
        schema.update(self._oneofs(message))
        self.schemas[name] = schema
        return name

    @staticmethod
    def _oneofs(message: Any) -> dict[str, Any]:
        """At most one field of each oneof: maxProperties when the oneof is the whole message."""
        groups: dict[int, list[str]] = {}
        for field in message.field:
            if field.HasField("oneof_index") and not field.proto3_optional:
                groups.setdefault(field.oneof_index, []).append(field.json_name or field.name)
        groups = {index: names for index, names in groups.items() if len(names) > 1}
        if not groups:
            return {}
        if len(groups) == 1 and len(next(iter(groups.values()))) == len(message.field):
            return {"maxProperties": 1}
        pairs = [
            {"required": list(pair)} for names in groups.values() for pair in itertools.combinations(names, 2)
        ]
        return {"not": {"anyOf": pairs}}


#: how a caller authenticates, when the server requires it (server/api/authentication.py)
BEARER = {
    "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
    "description": "an access token of this server's authorization server (see "
                   "/.well-known/oauth-authorization-server); not needed when the server does not require "
                   "authentication (by default, when it listens on loopback only)",
}


def _operation(method: Method, request_ref: str, response_ref: str, bearer: bool) -> dict[str, Any]:
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
    operation = {
        "operationId": method.name,
        "summary": f"{method.name} (gRPC {method.path})",
        "tags": ["admin"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(request_ref)}}},
        "responses": {
            "200": ok, "400": error, "401": error, "403": error, "404": error, "409": error, "413": error,
            "415": error, "default": error,
        },
    }
    if bearer and method.name in OPEN:
        operation["security"] = []  # answers without a token
    return operation


def _get_operation(resource: Resource, response_ref: str, bearer: bool) -> dict[str, Any]:
    """A GET route of :mod:`.resources`: its path and query parameters, and what it answers."""
    error = {
        "description": "the request failed",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    parameters: list[dict[str, Any]] = []
    for name in resource.path_names:
        pattern, max_length = PATH_PATTERNS[name]
        parameters.append({"name": name, "in": "path", "required": True,
                           "schema": {"type": "string", "pattern": _whole(pattern), "maxLength": max_length}})
    for param in resource.query:
        schema = {"type": "array", "items": param.schema} if param.many else param.schema
        entry: dict[str, Any] = {"name": param.name, "in": "query", "required": False, "schema": schema,
                                 "description": param.description}
        if param.many:
            entry.update(style="form", explode=True)
        parameters.append(entry)
    operation: dict[str, Any] = {
        "operationId": resource.operation_id,
        "summary": f"{resource.summary} (as {resource.method})",
        "tags": ["resources"],
        "parameters": parameters,
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": _ref(response_ref)}}},
            "400": error, "401": error, "403": error, "404": error, "default": error,
        },
    }
    if bearer and resource.method in OPEN:
        operation["security"] = []
    return operation


@functools.cache
def openapi_document(implemented: frozenset[str], version: str, max_text_chars: int,
                     bearer: bool = False) -> dict[str, Any]:
    """The document for the methods named in ``implemented`` (IDL names); ``bearer``: the server
    requires a token on every method but GetVersion, and the document says so."""
    from google.protobuf import descriptor_pb2

    from wingspan.protos.gen.descriptors import file_descriptor_set

    files = descriptor_pb2.FileDescriptorSet.FromString(file_descriptor_set()).file
    service = next(
        s for f in files if f.package == "wingspan.v1" for s in f.service if s.name == "AdminService"
    )
    io = {m.name: (m.input_type, m.output_type) for m in service.method}
    writer = _Writer(files, max_text_chars)
    paths: dict[str, Any] = {}
    for method in methods():
        if method.name not in implemented:
            continue
        request_type, response_type = io[method.name]
        request_name, response_name = writer.message(request_type), writer.message(response_type)
        paths[f"/api/v1/{method.name}"] = {"post": _operation(method, request_name, response_name, bearer)}
    for resource in RESOURCES:
        if resource.method in implemented:
            response_name = writer.message(io[resource.method][1])
            paths[resource.path] = {"get": _get_operation(resource, response_name, bearer)}
    schemas = {"Error": ERROR_SCHEMA, **writer.schemas}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Wingspan admin API",
            "version": version,
            "description": "Every RPC of wingspan.v1.AdminService as POST /api/v1/<Method> with "
            "the request message as JSON (proto3 JSON mapping), and the reads also as GET routes "
            "shaped like Flyte's HTTP gateway (filters and pages in the query); errors as "
            "{code, message, status}.",
        },
        "paths": paths,
        "components": {"schemas": dict(sorted(schemas.items()))},
    }
    if bearer:
        document["components"]["securitySchemes"] = {"bearer": BEARER}
        document["security"] = [{"bearer": []}]
    return document
