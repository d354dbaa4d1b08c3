"""A custom object checked against its CRD's structural schema here, before the API server sees it.

The API server checks the same schema, but its refusal arrives as an attempt failure on
the cluster; checked here, a wrong object is refused when the attempt starts with every
problem named by its path (``spec.executor.instances: expected an integer, got "two"``),
and nothing is created. The checker covers what structural schemas use: ``type``,
``properties`` (unknown fields refused, as with strict field validation), ``required``,
``items``, ``additionalProperties``, ``enum``, ``pattern``, ``minimum``, ``nullable``,
``x-kubernetes-preserve-unknown-fields`` and ``x-kubernetes-int-or-string``.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["problems"]

_TYPES: dict[str, tuple[type, ...]] = {"object": (dict,), "array": (list,), "string": (str,),
                                       "integer": (int,), "number": (int, float), "boolean": (bool,)}


def problems(schema: dict[str, Any], value: Any, path: str = "") -> list[str]:
    """Every way ``value`` breaks ``schema``, each as ``path: what is wrong``."""
    where = path or "(the object)"
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: must not be null"]
    if schema.get("x-kubernetes-int-or-string"):
        if isinstance(value, bool) or not isinstance(value, int | str):
            return [f"{where}: expected an integer or a string, got {_shown(value)}"]
        return []
    kind = schema.get("type")
    if kind is not None and not _is(kind, value):
        return [f"{where}: expected {_article(kind)}, got {_shown(value)}"]
    found: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {_shown(value)} is not one of {', '.join(map(_shown, schema['enum']))}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        found.append(f"{where}: {_shown(value)} does not match {schema['pattern']!r}")
    if isinstance(value, int | float) and "minimum" in schema and value < schema["minimum"]:
        found.append(f"{where}: {value} is below the minimum {schema['minimum']}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += problems(schema["items"], item, f"{path}[{index}]")
    if isinstance(value, dict):
        found += _object_problems(schema, value, path)
    return found


def _object_problems(schema: dict[str, Any], value: dict[str, Any], path: str) -> list[str]:
    found = [f"{_join(path, name)}: is required" for name in schema.get("required", ()) if name not in value]
    properties: dict[str, Any] = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    open_ended = schema.get("x-kubernetes-preserve-unknown-fields") or extra is True
    for name, item in value.items():
        if name in properties:
            found += problems(properties[name], item, _join(path, name))
        elif isinstance(extra, dict):
            found += problems(extra, item, _join(path, name))
        elif not open_ended and (properties or extra is False):
            known = ", ".join(sorted(properties))
            found.append(f"{_join(path, name)}: unknown field (known here: {known})")
    return found


def _is(kind: str, value: Any) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES.get(kind, (object,)))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:57] + "..."
