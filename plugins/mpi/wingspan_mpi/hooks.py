"""The plugin's hooks (entry point ``mpi`` in the group ``wingspan``): the ``mpi-local`` target of
task type ``mpi``, the environment that gives each rank's body its rank, and the
``[plugins.mpi]`` settings. Importing this module loads no MPI library."""

from __future__ import annotations

from collections.abc import Sequence

from wingspan.plugin import TaskEnvironment, TaskPlugin, hookimpl
from wingspan_mpi._config import MPIConfig
from wingspan_mpi._environment import MPIEnvironment
from wingspan_mpi._target import MPILocal


@hookimpl
def wingspan_config_schema() -> type:
    return MPIConfig


@hookimpl
def wingspan_task_plugins(config: MPIConfig) -> Sequence[TaskPlugin]:
    return [MPILocal(config)]


@hookimpl
def wingspan_task_environments(config: MPIConfig) -> Sequence[TaskEnvironment]:
    return [MPIEnvironment()]
