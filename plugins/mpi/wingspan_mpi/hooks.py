"""The plugin's hooks (entry point ``mpi`` in the group ``wingspan``): the ``mpi-local`` target of
task type ``mpi`` (with ``mpi-k8s``, an MPIJob per attempt, when wingspan-k8s is installed), the
environment that gives each rank's body its rank, and the ``[plugins.mpi]`` settings.
Importing this module loads no MPI library."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

from wingspan.plugin import Settings, TaskEnvironment, TaskPlugin, hookimpl
from wingspan_mpi._config import MPIConfig
from wingspan_mpi._environment import MPIEnvironment
from wingspan_mpi._target import MPILocal


@hookimpl
def wingspan_config_schema() -> type:
    return MPIConfig


@hookimpl
def wingspan_task_plugins(config: MPIConfig, settings: Settings) -> Sequence[TaskPlugin]:
    targets: list[TaskPlugin] = []
    if importlib.util.find_spec("wingspan_k8s") is not None:  # the extra wingspan-mpi[k8s]
        from wingspan_k8s import K8sConfig

        from wingspan_mpi._kubernetes import MPIK8sTarget

        # the cluster is [plugins.k8s]'s, from the same settings (--config) as this plugin's table
        targets.append(MPIK8sTarget(config, K8sConfig.from_settings(settings)))
    return [*targets, MPILocal(config)]  # the last registered is the default


@hookimpl
def wingspan_task_environments(config: MPIConfig) -> Sequence[TaskEnvironment]:
    return [MPIEnvironment()]
