"""The plugin's settings: ``MPIConfig``, the schema of its ``[plugins.mpi]`` table
(``WINGSPAN_PLUGINS__MPI__<FIELD>`` in the environment)."""

from __future__ import annotations

import dataclasses

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
