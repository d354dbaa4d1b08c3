"""The backend half, registered under the entry-point group ``wingspan`` as ``spark``:
the local target (the default for task type "spark"), the Kubernetes target ``spark-k8s`` (a
SparkApplication per attempt, when wingspan-k8s is installed), the Spark session environment,
the Spark DataFrame transformer, and the plugin's settings ([plugins.spark])."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

from wingspan.plugin import Settings, TaskEnvironment, TaskPlugin, TypeTransformer, hookimpl
from wingspan_spark._config import SparkPluginConfig
from wingspan_spark._frames import TRANSFORMER
from wingspan_spark._local import SparkLocalTarget
from wingspan_spark._session import SparkEnvironment

__all__ = ["wingspan_config_schema", "wingspan_task_environments", "wingspan_task_plugins",
           "wingspan_type_transformers"]


@hookimpl
def wingspan_config_schema() -> type:
    return SparkPluginConfig


@hookimpl
def wingspan_task_plugins(config: SparkPluginConfig, settings: Settings) -> Sequence[TaskPlugin]:
    targets: list[TaskPlugin] = []
    if importlib.util.find_spec("wingspan_k8s") is not None:  # the extra wingspan-spark[k8s]
        from wingspan_k8s import K8sConfig

        from wingspan_spark._kubernetes import SparkK8sTarget

        # the cluster is [plugins.k8s]'s, from the same settings (--config) as this plugin's table
        targets.append(SparkK8sTarget(config, K8sConfig.from_settings(settings)))
    return [*targets, SparkLocalTarget()]  # the last registered is the default


@hookimpl
def wingspan_task_environments(config: SparkPluginConfig) -> Sequence[TaskEnvironment]:
    return [SparkEnvironment(config)]


@hookimpl
def wingspan_type_transformers() -> Sequence[TypeTransformer]:
    return [TRANSFORMER]
