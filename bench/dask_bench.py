"""Per-attempt overhead of a Dask task, cold and warm, beside a plain Dask script doing the same work.

The work: a local cluster of two worker processes (one thread each) adds one to each of N numbers
(``client.map``) and sums the results. Plain: a script that starts ``LocalCluster`` and a client
(cold), then does the work on the running cluster (warm). Wingspan: a one-task workflow whose
``Dask(workers=2)`` task does the same work in its body, run through the local engine on each
of the plugin's targets: the first run starts the worker process (dask-local) and the cluster
(cold); later runs find both warm. Prints medians and the ratios wingspan/plain.

    python bench/dask_bench.py [--items 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

# the task in a module of its own: a warm worker imports it by name (a Dask cluster started in a
# worker whose task module is a script's __main__ does not start: see the README's note)
from dask_bench_tasks import dask_sum, work


def plain(items: int, repeat: int) -> tuple[float, float]:
    from distributed import Client, LocalCluster

    started = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      scheduler_kwargs={"dashboard": False}) as cluster, Client(cluster) as client:
        work(client, items)
        cold = time.perf_counter() - started
        warm = []
        for _ in range(repeat):
            started = time.perf_counter()
            work(client, items)
            warm.append(time.perf_counter() - started)
    return cold, statistics.median(warm)


def wingspan(items: int, repeat: int, target: str) -> tuple[float, float]:
    from wingspan._authoring.workflow import single_node_workflow
    from wingspan._runner.run import outputs_of, run_workflow_entity

    workflow = single_node_workflow(dask_sum)
    times = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        result = run_workflow_entity(workflow, {"items": items}, target=target)
        times.append(time.perf_counter() - started)
        assert outputs_of(workflow, result) == items * (items + 1) // 2, result.error
    return times[0], statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("WINGSPAN_HOME", tempfile.mkdtemp(prefix="wingspan-bench-"))
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.items} items, "
          f"median of {args.repeat} warm runs")
    plain_cold, plain_warm = plain(args.items, args.repeat)
    print(f"{'plain dask':22} cold {plain_cold:7.3f} s   warm {plain_warm * 1000:8.1f} ms")
    for target in ("dask=dask-local", "dask=dask-in-process"):
        cold, warm = wingspan(args.items, args.repeat, target)
        print(f"{target.split('=')[1]:22} cold {cold:7.3f} s   warm {warm * 1000:8.1f} ms   "
              f"ratio cold {cold / plain_cold:5.2f}  warm {warm / plain_warm:6.2f}  "
              f"overhead per warm attempt {(warm - plain_warm) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
