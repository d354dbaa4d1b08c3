"""MPI tasks the tests run: each rank's body, rank 0's outputs, and the ways a job fails."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import timedelta

from wingspan_mpi import MPI

from wingspan import current_context, task, workflow


@task(task_config=MPI(workers=2, slots_per_worker=2))
def ranks_report(base: int) -> tuple[int, int, str]:
    context = current_context()
    comm = context.mpi_comm
    total = comm.allreduce(base + context.mpi_rank)  # every rank takes part
    return total, context.mpi_size, f"rank {context.mpi_rank}"  # only rank 0's is kept


@task(task_config=MPI(workers=2))
def gathered(n: int) -> list[int]:
    context = current_context()
    parts = context.mpi_comm.gather(n * (context.mpi_rank + 1), root=0)
    return list(parts) if context.mpi_rank == 0 else []


@task
def double(values: list[int]) -> int:
    return 2 * sum(values)


@workflow
def gather_then_double(n: int = 5) -> int:
    return double(values=gathered(n=n))


@task(task_config=MPI(workers=3), retries=1)
def raise_on_rank_one(n: int) -> int:
    context = current_context()
    if context.mpi_rank == 1:
        raise ValueError(f"rank one refuses {n}")
    return int(context.mpi_comm.allreduce(n))  # the others wait here for rank 1


@task(task_config=MPI(workers=2))
def rank_one_killed(n: int) -> int:
    context = current_context()
    if context.mpi_rank == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return int(context.mpi_comm.allreduce(n))


@task(task_config=MPI(workers=2), timeout=timedelta(seconds=4))
def sleeps_past_its_timeout(marker: str) -> int:
    # each rank starts a child too: what a rank starts must not outlive the job either
    subprocess.Popen(["sleep", "120", marker])
    time.sleep(120)
    return 0
