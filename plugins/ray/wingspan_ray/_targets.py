"""Where ``ray`` task bodies run: ``ray-local``, the platform's warm worker processes under the
plugin's name, each keeping its local Ray cluster warm; attempts asking for the same cluster
shape go to the same workers (``worker_key``), and hold the cluster's CPUs from the budget."""

from __future__ import annotations

from typing import ClassVar

from wingspan.plugin import LocalProcessTarget, TaskTemplate
from wingspan_ray._environment import task_config
from wingspan_ray._task_config import TASK_TYPE

__all__ = ["RayLocal"]


class RayLocal(LocalProcessTarget):
    name: ClassVar[str] = "ray-local"
    task_types: ClassVar[tuple[str, ...]] = (TASK_TYPE,)

    def worker_key(self, template: TaskTemplate) -> str:
        return task_config(template).shape()

    def cpus_of(self, template: TaskTemplate) -> float:
        return float(max(1, task_config(template).num_cpus))
