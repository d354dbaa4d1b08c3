"""Identifiers inside templates: completing them, and finding what a template refers to.

Templates made by the SDK name what they call by name only (``Identifier(name=...)``);
at registration a reference without project, domain or version means "the same as
the entity being registered", so a set of entities registered together under one
version refers to itself.
"""

from __future__ import annotations

from typing import Any

from wingspan.core.model.interface import Identifier, ResourceType
from wingspan.core.model.record import fields_of, is_record

__all__ = ["complete_ids", "referenced_ids"]


def complete_ids(obj: Any, project: str, domain: str, version: str) -> Any:
    """``obj`` with every Identifier in it given the missing project, domain and version
    (subtrees that change nothing are shared, not copied)."""
    if isinstance(obj, Identifier):
        if obj.project and obj.domain and obj.version:
            return obj
        return Identifier(
            obj.resource_type, obj.project or project, obj.domain or domain, obj.name, obj.version or version
        )
    if isinstance(obj, tuple):
        items = tuple(complete_ids(item, project, domain, version) for item in obj)
        return obj if all(a is b for a, b in zip(items, obj, strict=True)) else items
    if isinstance(obj, dict):
        changed = {k: complete_ids(v, project, domain, version) for k, v in obj.items()}
        return obj if all(changed[k] is obj[k] for k in obj) else changed
    if is_record(obj) and not isinstance(obj, type):
        values = {f.name: getattr(obj, f.name) for f in fields_of(obj)}
        new = {k: complete_ids(v, project, domain, version) for k, v in values.items()}
        if all(new[k] is values[k] for k in values):
            return obj
        return type(obj)(**new)
    return obj


def referenced_ids(
    obj: Any,
    found: dict[ResourceType, set[Identifier]] | None = None,
) -> dict[ResourceType, set[Identifier]]:
    """Every Identifier inside ``obj``, by resource type."""
    if found is None:
        found = {t: set() for t in ResourceType}
    if isinstance(obj, Identifier):
        found[obj.resource_type].add(obj)
    elif isinstance(obj, tuple | list):
        for item in obj:
            referenced_ids(item, found)
    elif isinstance(obj, dict):
        for item in obj.values():
            referenced_ids(item, found)
    elif is_record(obj) and not isinstance(obj, type):
        for f in fields_of(obj):
            referenced_ids(getattr(obj, f.name), found)
    return found
