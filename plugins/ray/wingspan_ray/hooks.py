"""The plugin's hooks (entry point ``ray`` in the group ``wingspan``): the ``ray-local`` target
of task type ``ray`` (with ``ray-k8s``, a RayJob per attempt, when wingspan-k8s is installed),
the environment that connects its bodies to a cluster, the Ray Dataset transformer and the
``[plugins.ray]`` settings. Importing this module loads no Ray."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

from wingspan.plugin import Settings, TaskEnvironment, TaskPlugin, TypeTransformer, hookimpl
from wingspan_ray._config import RayConfig
from wingspan_ray._datasets import RayDatasetTransformer
from wingspan_ray._environment import RayEnvironment
from wingspan_ray._targets import RayLocal


@hookimpl
def wingspan_config_schema() -> type:
    return RayConfig


@hookimpl
def wingspan_task_plugins(config: RayConfig, settings: Settings) -> Sequence[TaskPlugin]:
    targets: list[TaskPlugin] = []
    if importlib.util.find_spec("wingspan_k8s") is not None:  # the extra wingspan-ray[k8s]
        from wingspan_k8s import K8sConfig

        from wingspan_ray._kubernetes import RayK8sTarget

        # the cluster is [plugins.k8s]'s, from the same settings (--config) as this plugin's table
        targets.append(RayK8sTarget(config, K8sConfig.from_settings(settings)))
    return [*targets, RayLocal(config)]  # the last registered is the default


@hookimpl
def wingspan_task_environments(config: RayConfig) -> Sequence[TaskEnvironment]:
    return [RayEnvironment(config)]


@hookimpl
def wingspan_type_transformers(config: RayConfig) -> Sequence[TypeTransformer]:
    return [RayDatasetTransformer()]
