"""The plugin's hooks (entry point ``dask`` in the group ``wingspan``): the targets of task type
``dask`` (with ``dask-k8s``, a DaskJob per attempt, when wingspan-k8s is installed), the
environment that gives their bodies a client, the Dask DataFrame transformer and the
``[plugins.dask]`` settings. Importing this module loads neither Dask nor distributed."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

from wingspan.plugin import Settings, TaskEnvironment, TaskPlugin, TypeTransformer, hookimpl
from wingspan_dask._config import DaskConfig
from wingspan_dask._environment import DaskEnvironment
from wingspan_dask._frames import DaskFrameTransformer
from wingspan_dask._targets import DaskInProcess, DaskLocal


@hookimpl
def wingspan_config_schema() -> type:
    return DaskConfig


@hookimpl
def wingspan_task_plugins(config: DaskConfig, settings: Settings) -> Sequence[TaskPlugin]:
    targets: list[TaskPlugin] = []
    if importlib.util.find_spec("wingspan_k8s") is not None:  # the extra wingspan-dask[k8s]
        from wingspan_k8s import K8sConfig

        from wingspan_dask._kubernetes import DaskK8sTarget

        # the cluster is [plugins.k8s]'s, from the same settings (--config) as this plugin's table
        targets.append(DaskK8sTarget(config, K8sConfig.from_settings(settings)))
    return [*targets, DaskInProcess(), DaskLocal()]  # the last registered is the default


@hookimpl
def wingspan_task_environments(config: DaskConfig) -> Sequence[TaskEnvironment]:
    return [DaskEnvironment(config)]


@hookimpl
def wingspan_type_transformers(config: DaskConfig) -> Sequence[TypeTransformer]:
    return [DaskFrameTransformer()]
