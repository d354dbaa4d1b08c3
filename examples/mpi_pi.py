"""MPI: a task estimates pi on every rank of an MPI job (mpirun, two ranks here); each rank sums
its share of the intervals and the ranks add their parts with an allreduce. Only rank 0's return
value leaves the job, and a plain task rounds it.

    wingspan run examples/mpi_pi.py mpi_pi --intervals 100000
"""

from wingspan_mpi import MPI

from wingspan import current_context, task, workflow


@task(task_config=MPI(workers=2))
def estimate_pi(intervals: int) -> float:
    context = current_context()
    rank, size, comm = context.mpi_rank, context.mpi_size, context.mpi_comm
    width = 1.0 / intervals
    part = sum(4.0 / (1.0 + ((i + 0.5) * width) ** 2) for i in range(rank, intervals, size)) * width
    return float(comm.allreduce(part))


@task
def rounded(value: float, digits: int) -> float:
    return round(value, digits)


@workflow
def mpi_pi(intervals: int = 100_000, digits: int = 4) -> tuple[float, int]:
    pi = estimate_pi(intervals=intervals)
    return rounded(value=pi, digits=digits), digits
