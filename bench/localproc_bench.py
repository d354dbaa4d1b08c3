"""Per-attempt overhead of the local-process target (warm workers) against in-process.

Runs a chain of N no-op tasks (each feeding the next, so attempts are sequential) with
each target in this process, after a warm-up run that starts the workers, and prints the
time per node and the difference: what running an attempt in a warm worker process
costs on top of running it here. Also times the first (cold) run, which starts a worker.

    python bench/localproc_bench.py [--chain 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from wingspan import task, workflow


@task
def noop(x: int) -> int:
    return x


def chain_of(size: int):  # type: ignore[no-untyped-def]
    @workflow
    def chain(x: int) -> int:
        for _ in range(size):
            x = noop(x=x)
        return x

    return chain


def per_node(wf, size: int, target: str, repeat: int) -> float:  # type: ignore[no-untyped-def]
    from wingspan._runner.run import outputs_of, run_workflow_entity

    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = run_workflow_entity(wf, {"x": 1}, target=target)
        times.append(time.perf_counter() - started)
        assert outputs_of(wf, result) == 1, result.error
    return statistics.median(times) / size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("WINGSPAN_HOME", tempfile.mkdtemp(prefix="wingspan-bench-"))
    from wingspan._runner.run import run_workflow_entity

    wf = chain_of(args.chain)
    one = chain_of(1)
    started = time.perf_counter()
    run_workflow_entity(one, {"x": 1}, target="local-process")
    cold = time.perf_counter() - started
    here = per_node(wf, args.chain, "in-process", args.repeat + 1)
    there = per_node(wf, args.chain, "local-process", args.repeat)
    print(f"python {sys.version.split()[0]}; chain of {args.chain} no-op tasks, median of {args.repeat} runs")
    print(f"  first run with local-process (starts a worker): {cold:.2f} s")
    print(f"  in-process:             {here * 1e6:8.0f} us per node")
    print(f"  local-process (warm):   {there * 1e6:8.0f} us per node")
    print(f"  overhead of a warm worker attempt: {(there - here) * 1e6:.0f} us")


if __name__ == "__main__":
    main()
