"""One watch per namespace over the pods Wingspan manages, shared by every attempt in it.

The pods carry the label ``app.kubernetes.io/managed-by=wingspan``; list + watch as in
:mod:`wingspan_k8s._list_watch`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wingspan_k8s._list_watch import ListWatch
from wingspan_k8s._pods import MANAGED_BY

__all__ = ["PodWatcher"]

SELECTOR = f"{MANAGED_BY}=wingspan"


class PodWatcher(ListWatch):
    """The latest state of each managed pod of one namespace, kept by list + watch."""

    def __init__(self, core: Any, namespace: str, *, timeout_seconds: int = 300,
                 on_list: Callable[[PodWatcher], None] | None = None) -> None:
        super().__init__(timeout_seconds=timeout_seconds)
        self.core = core
        self.namespace = namespace
        self.subject = f"pods in {namespace}"
        self.on_list = on_list
        self.pods: dict[str, dict[str, Any]] = {}

    def _list_call(self) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
        return self.core.list_namespaced_pod, (self.namespace,), {"label_selector": SELECTOR}

    def _keep_list(self, items: list[dict[str, Any]]) -> None:
        self.pods = {item["metadata"]["name"]: item for item in items}

    def _keep_event(self, kind: str, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        if kind == "DELETED":
            self.pods.pop(name, None)
        else:
            self.pods[name] = obj

    def _listed(self) -> None:
        if self.on_list is not None:
            self.on_list(self)
