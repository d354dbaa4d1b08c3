"""Per-attempt overhead of an MPI task beside a plain ``mpirun python`` doing the same work.

The work: two ranks each sum their share of a pi estimate (N intervals) and add their parts with
an allreduce. Plain: ``mpirun -np 2 python -c ...`` with the same Open MPI settings the plugin
uses. Wingspan: a one-task workflow whose ``MPI(workers=2)`` task does the same work in its body,
run through the local engine on ``mpi-local``. Every attempt is a new mpirun job (MPI has no warm
job to reuse), so "cold" is the first run in this process (plugin discovery included) and "warm"
the median of the later ones. Prints medians and the ratios wingspan/plain.

    python bench/mpi_bench.py [--intervals 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from wingspan_mpi import MPI
from wingspan_mpi._target import mpi_environment

from wingspan import current_context, task, workflow

PLAIN = """
import sys
from mpi4py import MPI
comm = MPI.COMM_WORLD
rank, size, intervals = comm.Get_rank(), comm.Get_size(), int(sys.argv[1])
width = 1.0 / intervals
part = sum(4.0 / (1.0 + ((i + 0.5) * width) ** 2) for i in range(rank, intervals, size)) * width
total = comm.allreduce(part)
if rank == 0:
    print(total)
"""


@task(task_config=MPI(workers=2))
def estimate_pi(intervals: int) -> float:
    context = current_context()
    rank, size = context.mpi_rank, context.mpi_size
    width = 1.0 / intervals
    part = sum(4.0 / (1.0 + ((i + 0.5) * width) ** 2) for i in range(rank, intervals, size)) * width
    return float(context.mpi_comm.allreduce(part))


@workflow
def pi_flow(intervals: int = 1000) -> float:
    return estimate_pi(intervals=intervals)


def plain(intervals: int, repeat: int) -> float:
    root = ["--allow-run-as-root"] if os.geteuid() == 0 else []
    argv = ["mpirun", *root, "-np", "2", sys.executable, "-c", PLAIN, str(intervals)]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=mpi_environment(os.environ, {}))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def through_wingspan(intervals: int, repeat: int) -> tuple[float, float]:
    started = time.perf_counter()
    pi_flow(intervals=intervals)
    cold = time.perf_counter() - started
    warm = []
    for _ in range(repeat):
        started = time.perf_counter()
        pi_flow(intervals=intervals)
        warm.append(time.perf_counter() - started)
    return cold, statistics.median(warm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("WINGSPAN_HOME", tempfile.mkdtemp(prefix="wingspan-mpi-bench-"))
    base = plain(args.intervals, args.repeat)
    cold, warm = through_wingspan(args.intervals, args.repeat)
    print(f"plain mpirun python (2 ranks): {base * 1000:.0f} ms")
    print(f"wingspan mpi-local cold:       {cold * 1000:.0f} ms  ratio {cold / base:.2f}")
    print(f"wingspan mpi-local warm:       {warm * 1000:.0f} ms  ratio {warm / base:.2f} "
          f"({(warm - base) * 1000:.0f} ms per attempt)")


if __name__ == "__main__":
    main()
