"""The plugin's settings: ``MPIConfig``, the schema of its ``[plugins.mpi]`` table
(``WINGSPAN_PLUGINS__MPI__<FIELD>`` in the environment)."""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["MPIConfig"]


@dataclasses.dataclass(frozen=True)
class MPIConfig:
    """How the ``mpi-local`` target starts its jobs."""

    # the mpirun to start jobs with (a name on PATH or a path): Debian's openmpi-bin
    mpirun: str = "mpirun"
    # more mpirun arguments, split on whitespace (e.g. "--mca btl_base_verbose 30")
    mpirun_args: str = ""
    # seconds an MPI job is given to end after a rank was lost or the attempt stopped,
    # before what is left of it is killed
    stop_grace: float = 2.0

    # Kubernetes (target mpi-k8s: an MPIJob per attempt for Kubeflow's MPI operator; the cluster
    # is [plugins.k8s]'s): the image of the launcher and workers ("": the task's image, else
    # [plugins.k8s] default_image; it needs Open MPI, an SSH server, mpi4py and Wingspan), the
    # launcher's mpirun (mpirun_args are added to it), what each rank runs before the attempt's
    # `wingspan execute`, what the workers run (an SSH server in the foreground), and fields
    # merged over every MPIJob's spec (checked against its schema at each start)
    k8s_image: str = ""
    k8s_mpirun_command: list[str] = dataclasses.field(default_factory=lambda: ["mpirun"])
    k8s_rank_command: list[str] = dataclasses.field(
        default_factory=lambda: ["python3", "-m", "wingspan_mpi.pod_rank"])
    k8s_worker_command: list[str] = dataclasses.field(default_factory=lambda: ["/usr/sbin/sshd", "-De"])
    k8s_job: dict[str, Any] = dataclasses.field(default_factory=dict)
