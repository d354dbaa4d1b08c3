"""Per-attempt overhead of a Ray task, cold and warm, beside a plain Ray script doing the same work.

The work: N Ray tasks on a local cluster of 2 CPUs (200 MB object store, no dashboard) each add
one to a number, and the driver sums the results. Plain: a script that calls ``ray.init`` (cold),
then does the work on the running cluster (warm). Wingspan: a one-task workflow whose
``Ray(head=HeadNode(num_cpus=2))`` task does the same work in its body, run through the local
engine on ``ray-local``: the first run starts the worker process and its cluster (cold); later
runs find both warm. Prints medians and the ratios wingspan/plain.

    python bench/ray_bench.py [--items 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time

from ray_bench_tasks import ray_sum, work


def plain(items: int, repeat: int) -> tuple[float, float]:
    import ray

    started = time.perf_counter()
    ray.init(num_cpus=2, object_store_memory=200 * 1024 * 1024, include_dashboard=False,
             logging_level=logging.WARNING)
    try:
        work(items)
        cold = time.perf_counter() - started
        warm = []
        for _ in range(repeat):
            started = time.perf_counter()
            work(items)
            warm.append(time.perf_counter() - started)
    finally:
        ray.shutdown()
    return cold, statistics.median(warm)


def through_wingspan(items: int, repeat: int) -> tuple[float, float]:
    from wingspan._authoring.workflow import single_node_workflow
    from wingspan._runner.run import outputs_of, run_workflow_entity

    workflow = single_node_workflow(ray_sum)
    times = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        result = run_workflow_entity(workflow, {"items": items})
        times.append(time.perf_counter() - started)
        assert outputs_of(workflow, result) == items * (items + 1) // 2, result.error
    return times[0], statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("WINGSPAN_HOME", tempfile.mkdtemp(prefix="wingspan-ray-bench-"))
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.items} items, "
          f"median of {args.repeat} warm runs")
    plain_cold, plain_warm = plain(args.items, args.repeat)
    print(f"{'plain ray':12} cold {plain_cold:7.3f} s   warm {plain_warm * 1000:8.1f} ms")
    cold, warm = through_wingspan(args.items, args.repeat)
    print(f"{'ray-local':12} cold {cold:7.3f} s   warm {warm * 1000:8.1f} ms   "
          f"ratio cold {cold / plain_cold:5.2f}  warm {warm / plain_warm:6.2f}  "
          f"overhead per warm attempt {(warm - plain_warm) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
