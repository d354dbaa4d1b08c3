"""One custom object followed by list + watch while an attempt waits on it.

The list is narrowed to the object by a field selector on its name; list + watch as in
:mod:`wingspan_k8s._list_watch`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wingspan_k8s._list_watch import ListWatch

__all__ = ["ObjectWatcher"]


class ObjectWatcher(ListWatch):
    """The latest state of one custom object (None once it is gone), kept by list + watch."""

    def __init__(self, api: Any, group: str, version: str, plural: str, namespace: str, name: str, *,
                 timeout_seconds: int = 300) -> None:
        super().__init__(timeout_seconds=timeout_seconds)
        self.api = api  # a CustomObjectsApi
        self.group, self.version, self.plural = group, version, plural
        self.namespace, self.name = namespace, name
        self.subject = f"{plural} {namespace}/{name}"
        self.object: dict[str, Any] | None = None

    def _list_call(self) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
        where = (self.group, self.version, self.namespace, self.plural)
        return self.api.list_namespaced_custom_object, where, {"field_selector": f"metadata.name={self.name}"}

    def _keep_list(self, items: list[dict[str, Any]]) -> None:
        self.object = items[0] if items else None

    def _keep_event(self, kind: str, obj: dict[str, Any]) -> None:
        self.object = None if kind == "DELETED" else obj
