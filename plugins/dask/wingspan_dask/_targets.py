"""Where ``dask`` task bodies run: the platform's Python targets under the plugin's names.

``dask-local`` (the default) runs them in warm worker processes, each keeping its local cluster
warm; attempts asking for the same cluster go to the same workers (``worker_key``).
``dask-in-process`` runs them in the engine's process (``task_targets = "dask=dask-in-process"``).
"""

from __future__ import annotations

from typing import ClassVar

from wingspan.plugin import InProcessTarget, LocalProcessTarget, TaskTemplate
from wingspan_dask._environment import task_config
from wingspan_dask._task_config import TASK_TYPE

__all__ = ["DaskInProcess", "DaskLocal"]


class DaskLocal(LocalProcessTarget):
    name: ClassVar[str] = "dask-local"
    task_types: ClassVar[tuple[str, ...]] = (TASK_TYPE,)

    def worker_key(self, template: TaskTemplate) -> str:
        dask = task_config(template)
        return f"{dask.scheduler}|{dask.workers}|{dask.threads_per_worker}|{dask.memory_limit}"


class DaskInProcess(InProcessTarget):
    name: ClassVar[str] = "dask-in-process"
    task_types: ClassVar[tuple[str, ...]] = (TASK_TYPE,)
