"""``Ray``: the SDK half of the plugin, the task config of a task whose body uses a Ray cluster.

``@task(task_config=Ray(head=HeadNode(num_cpus=1), workers=[WorkerGroup(replicas=1)]))`` makes
the task a ``ray`` task. Locally its cluster is one Ray node holding the CPUs of the head and of
every worker replica (a Kubernetes RayJob makes them pods); ``runtime_env`` is Ray's runtime
environment of the body's job (``{"env_vars": {...}}``...).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["TASK_TYPE", "HeadNode", "Ray", "WorkerGroup"]

TASK_TYPE = "ray"


def _whole(name: str, value: Any, least: int) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        return [f"{name} must be a whole number of at least {least}, got {value!r}"]
    return []


@dataclass(frozen=True)
class HeadNode:
    """The head of the cluster: its CPUs and its object store (MiB)."""

    num_cpus: int = 1
    object_store_mb: int = 200

    def __post_init__(self) -> None:
        problems = _whole("num_cpus", self.num_cpus, 0) + _whole("object_store_mb", self.object_store_mb, 80)
        if problems:
            raise ValueError("HeadNode(...): " + "; ".join(problems))


@dataclass(frozen=True)
class WorkerGroup:
    """``replicas`` worker nodes of ``num_cpus`` CPUs each."""

    replicas: int = 1
    num_cpus: int = 1

    def __post_init__(self) -> None:
        problems = _whole("replicas", self.replicas, 0) + _whole("num_cpus", self.num_cpus, 1)
        if problems:
            raise ValueError("WorkerGroup(...): " + "; ".join(problems))


@dataclass(frozen=True)
class Ray:
    """A Ray cluster for a task's body: a local one of this shape, or, with ``address``, the
    running head whose Jobs API (its dashboard's address, ``http://host:8265``) runs each
    attempt as a Ray job."""

    head: HeadNode = field(default_factory=HeadNode)
    workers: Sequence[WorkerGroup] = ()
    runtime_env: dict[str, Any] | None = None
    address: str = ""
    task_type: ClassVar[str] = TASK_TYPE

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.head, HeadNode):
            problems.append(f"head must be a HeadNode(...), got {self.head!r}")
        if isinstance(self.workers, WorkerGroup):
            object.__setattr__(self, "workers", (self.workers,))
        elif not all(isinstance(group, WorkerGroup) for group in self.workers):
            problems.append(f"workers must be WorkerGroup(...)s, got {self.workers!r}")
        object.__setattr__(self, "workers", tuple(self.workers))
        if not isinstance(self.address, str):
            problems.append(f"address must be a Ray head's Jobs API address as text, got {self.address!r}")
        if self.runtime_env is not None:
            try:
                json.dumps(self.runtime_env)
            except (TypeError, ValueError):
                problems.append(f"runtime_env must be plain JSON data (a dict), got {self.runtime_env!r}")
        if problems:
            raise ValueError("Ray(...): " + "; ".join(problems))

    @property
    def num_cpus(self) -> int:
        """The CPUs of the whole cluster: what a local one-node cluster holds."""
        return self.head.num_cpus + sum(group.replicas * group.num_cpus for group in self.workers)

    def shape(self) -> str:
        """What a warm cluster must match for this task to run on it."""
        return json.dumps([self.num_cpus, self.head.object_store_mb, self.runtime_env], sort_keys=True)

    def to_custom(self) -> dict[str, Any]:
        # nested settings as JSON text: a literal map keeps them exactly
        return {"head": json.dumps(vars(self.head)),
                "workers": json.dumps([vars(group) for group in self.workers]),
                "runtime_env": json.dumps(self.runtime_env), "address": self.address}

    @classmethod
    def from_custom(cls, custom: dict[str, Any]) -> Ray:
        """The config back from a template's ``custom`` (as plain values)."""
        head = HeadNode(**json.loads(custom["head"])) if "head" in custom else HeadNode()
        workers = tuple(WorkerGroup(**group) for group in json.loads(custom.get("workers", "[]")))
        runtime_env = json.loads(custom["runtime_env"]) if "runtime_env" in custom else None
        return cls(head, workers, runtime_env, str(custom.get("address", "")))
