"""The launch form: fields made from an entity's inputs, and the typed inputs read back from them.

Each input becomes one field by its literal type: a number, text, a checkbox, a choice of
an enum's values, a date and time, or JSON for lists, dicts, records and unions. Reading
the form checks every field and reports each error under its field's name, so the page
can show it beside the field; nothing is launched unless every field is right.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wingspan.core.errors import TypeTransformerError
from wingspan.core.model.interface import Parameter
from wingspan.core.model.literals import Literal, LiteralMap, LiteralType, SimpleType
from wingspan.core.types.naturals import from_natural, to_natural

__all__ = ["FormField", "form_fields", "read_form"]


@dataclass(frozen=True, slots=True)
class FormField:
    name: str
    #: "int", "float", "str", "bool", "enum", "datetime" or "json"
    kind: str
    type_text: str
    default: str
    required: bool
    choices: tuple[str, ...] = ()
    description: str = ""


def _kind(lt: LiteralType) -> str:
    if lt.kind == "simple":
        return {SimpleType.INTEGER: "int", SimpleType.FLOAT: "float", SimpleType.STRING: "str",
                SimpleType.BOOLEAN: "bool", SimpleType.DATETIME: "datetime"}.get(SimpleType(lt.value), "json")
    return "enum" if lt.kind == "enum_type" else "json"


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


def form_fields(parameters: Sequence[Parameter]) -> list[FormField]:
    """One field per input that the caller may give (fixed inputs of a launch plan are not among them)."""
    found = []
    for parameter in parameters:
        variable = parameter.variable
        if variable is None or variable.type is None:
            continue
        kind = _kind(variable.type)
        choices = tuple(variable.type.value.values) if kind == "enum" else ()
        required = parameter.required and parameter.default is None
        default = _default_text(kind, parameter.default)
        found.append(FormField(variable.name, kind, str(variable.type), default, required, choices,
                               variable.description))
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
    """The inputs in ``given`` (field name -> text) as literals, and an error per wrong field.
    An empty field of an input with a default is left out, so the default applies."""
    types = {p.variable.name: p for p in parameters if p.variable is not None and p.variable.type is not None}
    errors: dict[str, str] = {}
    for name in sorted(set(given) - set(types)):
        errors[name] = f"{name!r} is not an input here; inputs: {', '.join(types) or 'none'}"
    literals: dict[str, Literal] = {}
    for name, parameter in types.items():
        assert parameter.variable is not None and parameter.variable.type is not None
        lt, text = parameter.variable.type, given.get(name)
        kind = _kind(lt)
        if not isinstance(text, str) or (text == "" and kind != "str"):
            if parameter.required and parameter.default is None:
                errors[name] = "required: give a value"
            continue
        try:
            literals[name] = from_natural(_value(kind, text), lt, name)
        except (ValueError, TypeTransformerError) as exc:
            errors[name] = str(exc)
    return LiteralMap(literals), errors
