"""MPI for Wingspan: a task body that runs on every rank of an MPI job.

``MPI`` is the task config (``@task(task_config=MPI(workers=2))``, task type ``mpi``): the
``mpi-local`` target starts the attempt with ``mpirun``, every rank runs the body with its rank,
the job's size and its communicator as ``current_context().mpi_rank``, ``.mpi_size`` and
``.mpi_comm``, and rank 0's return value is the task's outputs. ``MPIConfig`` is the
``[plugins.mpi]`` table.
"""

from __future__ import annotations

from wingspan_mpi._config import MPIConfig
from wingspan_mpi._errors import MPILaunchError, MPIRankError, MPIRankLostError
from wingspan_mpi._task_config import MPI

__all__ = ["MPI", "MPIConfig", "MPILaunchError", "MPIRankError", "MPIRankLostError"]
