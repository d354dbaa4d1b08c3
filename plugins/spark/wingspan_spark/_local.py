"""The local backend's target: Spark bodies in warm local-process workers, one pool per
Spark settings, so that the next attempt with the same settings finds a worker whose
session (and JVM) is already up."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import ClassVar

from wingspan.plugin import LocalProcessTarget, TaskTemplate
from wingspan_spark._session import settings_of
from wingspan_spark._task_config import TASK_TYPE

__all__ = ["SparkLocalTarget"]


class SparkLocalTarget(LocalProcessTarget):
    """Runs Spark tasks on this machine: pyspark in local mode in a warm worker."""

    name: ClassVar[str] = "spark-local"
    task_types: ClassVar[tuple[str, ...]] = (TASK_TYPE,)

    def cpus_of(self, template: TaskTemplate) -> float:
        # the session's local[N] threads: two attempts at once on a 2-CPU machine would
        # start a second worker, and a second JVM, only to share the same cores
        settings = settings_of(template)
        return max(super().cpus_of(template), float(settings.executor_instances * settings.executor_cores))

    def worker_key(self, template: TaskTemplate) -> str:
        return json.dumps(asdict(settings_of(template)), sort_keys=True)
