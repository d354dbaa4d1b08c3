"""The plugin's hooks (entry point ``ray`` in the group ``wingspan``): the ``ray-local`` target
of task type ``ray``, the environment that connects its bodies to a cluster, the Ray Dataset
transformer and the ``[plugins.ray]`` settings. Importing this module loads no Ray."""

from __future__ import annotations

from collections.abc import Sequence

from wingspan.plugin import TaskEnvironment, TaskPlugin, TypeTransformer, hookimpl
from wingspan_ray._config import RayConfig
from wingspan_ray._datasets import RayDatasetTransformer
from wingspan_ray._environment import RayEnvironment
from wingspan_ray._targets import RayLocal


@hookimpl
def wingspan_config_schema() -> type:
    return RayConfig


@hookimpl
def wingspan_task_plugins(config: RayConfig) -> Sequence[TaskPlugin]:
    return [RayLocal(config)]


@hookimpl
def wingspan_task_environments(config: RayConfig) -> Sequence[TaskEnvironment]:
    return [RayEnvironment(config)]


@hookimpl
def wingspan_type_transformers(config: RayConfig) -> Sequence[TypeTransformer]:
    return [RayDatasetTransformer()]
