"""The launch form: fields made from an entity's inputs, and the typed inputs read back from them.

Each input becomes one field by its literal type: a number, text, a checkbox, a choice of
an enum's values, a date and time, a file (uploaded through the data proxy by the page, the
field then holds its URI), a group of fields for a record (a dataclass or pydantic model,
nested records nested groups; a field's name is its dotted path, ``shape.corner.x``), or
JSON for lists, dicts and unions. Reading the form checks every field and reports each
error under its field's name, so the page can show it beside the field; nothing is
launched unless every field is right.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wingspan.core.compiler import literal_fits
from wingspan.core.errors import TypeTransformerError
from wingspan.core.model.interface import Parameter
from wingspan.core.model.literals import (
    Blob,
    BlobDimensionality,
    Literal,
    LiteralMap,
    LiteralType,
    RecordFieldValue,
    RecordValue,
    SimpleType,
)
from wingspan.core.types.naturals import from_natural, to_natural

__all__ = ["FormField", "files_in", "form_fields", "read_form"]


@dataclass(frozen=True, slots=True)
class FormField:
    name: str
    #: "int", "float", "str", "bool", "enum", "datetime", "file", "directory", "record" or "json"
    kind: str
    type_text: str
    default: str
    required: bool
    choices: tuple[str, ...] = ()
    description: str = ""
    #: a record's fields (their names dotted paths below this one's)
    fields: tuple[FormField, ...] = ()

    @property
    def html_id(self) -> str:
        """The name as an element id: dots (CSS class selectors) become ``--``."""
        return self.name.replace(".", "--")


def _kind(lt: LiteralType) -> str:
    if lt.kind == "simple":
        return {SimpleType.INTEGER: "int", SimpleType.FLOAT: "float", SimpleType.STRING: "str",
                SimpleType.BOOLEAN: "bool", SimpleType.DATETIME: "datetime"}.get(SimpleType(lt.value), "json")
    if lt.kind == "blob":
        return "file" if lt.value.dimensionality == BlobDimensionality.SINGLE else "directory"
    return {"enum_type": "enum", "record_type": "record"}.get(lt.kind, "json")


def _default_text(kind: str, literal: Literal | None) -> str:
    if literal is None:
        return ""
    value = to_natural(literal)
    if kind in ("int", "float", "str", "enum"):
        return str(value)
    if kind == "bool":
        return "true" if value else "false"
    if kind == "datetime":
        return value.isoformat() if isinstance(value, dt.datetime) else str(value)
    return json.dumps(value, default=str)


def _field(name: str, lt: LiteralType, default: Literal | None, required: bool, description: str = "",
           ) -> FormField:
    kind = _kind(lt)
    choices = tuple(lt.value.values) if kind == "enum" else ()
    if kind != "record":
        return FormField(name, kind, str(lt), _default_text(kind, default), required, choices, description)
    values = {f.name: f.value for f in default.value.fields} if default is not None else {}
    fields = tuple(_field(f"{name}.{f.name}", f.type, values.get(f.name), required and not f.optional)
                   for f in lt.value.fields if f.type is not None)
    return FormField(name, kind, str(lt), "", required, (), description, fields)


def form_fields(parameters: Sequence[Parameter]) -> list[FormField]:
    """One field per input that the caller may give (fixed inputs of a launch plan are not among them)."""
    found = []
    for parameter in parameters:
        variable = parameter.variable
        if variable is None or variable.type is None:
            continue
        required = parameter.required and parameter.default is None
        found.append(_field(variable.name, variable.type, parameter.default, required, variable.description))
    return found


def _value(kind: str, text: str) -> Any:
    match kind:
        case "int":
            try:
                return int(text.strip())
            except ValueError:
                raise ValueError(f"{text!r} is not a whole number") from None
        case "float":
            try:
                return float(text.strip())
            except ValueError:
                raise ValueError(f"{text!r} is not a number") from None
        case "bool":
            if text not in ("true", "false"):
                raise ValueError(f"{text!r} is neither true nor false")
            return text == "true"
        case "datetime":
            try:
                value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"{text!r} is not a date and time such as 2026-01-31T12:00:00Z") from None
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        case "json":
            try:
                return json.loads(text)
            except ValueError as exc:
                raise ValueError(f"not valid JSON: {exc}") from None
    return text


def read_form(parameters: Sequence[Parameter], given: Mapping[str, Any]) -> tuple[LiteralMap, dict[str, str]]:
    """The inputs in ``given`` (field name -> text; a record's fields by dotted name, or the whole
    record as JSON under its own name) as literals, and an error per wrong field. An empty field
    of an input with a default is left out, so the default applies."""
    fields = {f.name: f for f in form_fields(parameters)}
    types = {p.variable.name: p.variable.type for p in parameters
             if p.variable is not None and p.variable.type is not None}
    errors: dict[str, str] = {}
    known = {name for f in fields.values() for name in _names(f)}
    for name in sorted(set(given) - known):
        errors[name] = f"{name!r} is not an input here; inputs: {', '.join(fields) or 'none'}"
    literals: dict[str, Literal] = {}
    for name, form_field in fields.items():
        try:
            if form_field.kind == "record" and not isinstance(given.get(name), str):
                value = _record(form_field, given, errors)
                if value is _MISSING:
                    if form_field.required:
                        errors.setdefault(name, "required: give a value")
                    continue
                if value is _WRONG:
                    continue
            else:
                value = _one(form_field, given.get(name), errors)
                if value is _MISSING or value is _WRONG:
                    continue
            literals[name] = _literal(value, types[name], name)
        except _FieldError as exc:
            errors[exc.field] = exc.message
        except (ValueError, TypeTransformerError) as exc:
            errors[name] = str(exc)
    return LiteralMap(literals), errors


_MISSING, _WRONG = object(), object()


def _names(form_field: FormField) -> list[str]:
    return [form_field.name, *(n for f in form_field.fields for n in _names(f))]


def _one(form_field: FormField, text: Any, errors: dict[str, str], *, empty_is_missing: bool = False) -> Any:
    """A plain field's value, ``_MISSING`` when left empty (an error if it is required), or
    ``_WRONG`` with its error recorded. An empty text is a value of its own (``""``) unless
    ``empty_is_missing``."""
    kind = "json" if form_field.kind == "record" else form_field.kind
    if not isinstance(text, str) or (text == "" and (kind != "str" or empty_is_missing)):
        if form_field.required:
            errors[form_field.name] = "required: give a value"
            return _WRONG
        return _MISSING
    try:
        return _value(kind, text)
    except ValueError as exc:
        errors[form_field.name] = str(exc)
        return _WRONG


def _record(form_field: FormField, given: Mapping[str, Any], errors: dict[str, str]) -> Any:
    """A record read from its fields (dict of plain values), ``_MISSING`` when every field is
    empty, ``_WRONG`` when any field is wrong (each error under its own field)."""
    value: dict[str, Any] = {}
    wrong = False
    for sub in form_field.fields:
        if sub.kind == "record" and not isinstance(given.get(sub.name), str):
            found = _record(sub, given, errors)
            if found is _MISSING and sub.required:
                errors.setdefault(sub.name, "required: give a value")
                found = _WRONG
        else:  # a record's field with a default left empty: the default applies
            found = _one(sub, given.get(sub.name), errors, empty_is_missing=not sub.required)
        if found is _WRONG:
            wrong = True
        elif found is not _MISSING:
            value[sub.name.rsplit(".", 1)[1]] = found
    if wrong:
        return _WRONG
    return value if value else _MISSING


class _FieldError(ValueError):
    """A wrong value of one field inside a record: reported beside that field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _is_file(lt: LiteralType) -> bool:
    """A File or a Directory: the page uploads it (a Directory's files under one folder) and sends
    the stored object's (or folder's) URI."""
    return lt.kind == "blob"


def _holds_file(lt: LiteralType) -> bool:
    return _is_file(lt) or (lt.kind == "record_type" and any(
        f.type is not None and _holds_file(f.type) for f in lt.value.fields))


def _literal(value: Any, lt: LiteralType, name: str) -> Literal:
    """``value`` as a literal of ``lt``: files (URIs), also inside records, here; the rest by
    :func:`from_natural`."""
    if _is_file(lt):
        if not isinstance(value, str) or "://" not in value:
            what = "file" if lt.value.dimensionality == BlobDimensionality.SINGLE else "folder"
            raise _FieldError(name, f"{value!r} is not the URI of an uploaded {what}; "
                                    f"choose {'a file' if what == 'file' else 'its files'} to upload")
        return Literal("blob", Blob(value, lt.value))
    if lt.kind == "record_type" and isinstance(value, dict) and _holds_file(lt):
        fields = {f.name: f for f in lt.value.fields if f.type is not None}
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise _FieldError(name, f"{lt} has no fields {unknown}")
        literal = Literal("record", RecordValue(lt.value.name, tuple(
            RecordFieldValue(k, _literal(value[k], fields[k].type, f"{name}.{k}"))
            for k in fields if k in value)))
        if not literal_fits(literal, lt):
            raise _FieldError(name, f"expected {lt}: give every field it requires")
        return literal
    return from_natural(value, lt, name)


def files_in(inputs: LiteralMap) -> list[tuple[str, str]]:
    """Every file among the inputs, inside records too: (its field's dotted name, its URI)."""
    found: list[tuple[str, str]] = []

    def visit(name: str, literal: Literal) -> None:
        if literal.kind == "blob":
            found.append((name, literal.value.uri))
        elif literal.kind == "record":
            for field in literal.value.fields:
                visit(f"{name}.{field.name}", field.value)

    for name, literal in inputs.literals.items():
        visit(name, literal)
    return found
