"""Per-attempt overhead of the local-process target (warm workers) against in-process.

Runs a chain of N no-op tasks (each feeding the next, so attempts are sequential) with
each target in this process, after a warm-up run that starts the workers, and prints the
time per node and the difference: what running an attempt in a warm worker process
costs on top of running it here. Also times the first (cold) run, which starts a worker,
and a fresh worker's first attempt (a new code version's, so no warm worker serves it)
forked by the zygote against spawned as a new interpreter (the zygote already started).

    python bench/localproc_bench.py [--chain 200] [--repeat 5] [--versions 8]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

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


FRESH_MODULE = "from wingspan import task\n\n\n@task\ndef one(x: int) -> int:\n    return x\n"


async def fresh_worker_seconds(folder: Path, versions: int, fork: bool) -> list[float]:
    """Start to end of the first attempt of each of ``versions`` new code versions."""
    from wingspan.core.model.literals import Literal, LiteralMap
    from wingspan.core.plugins.contract import TaskContext
    from wingspan.core.plugins.localproc.target import LocalProcessTarget

    target = LocalProcessTarget(fork_workers=fork)
    times = []
    try:
        for index in range(versions):
            name = f"fresh_{'fork' if fork else 'spawn'}_{index}"
            (folder / f"{name}.py").write_text(FRESH_MODULE)
            one = importlib.import_module(name).one
            ctx = TaskContext(one.template, LiteralMap({"x": Literal("integer", 1)}), "bench", "n0", 0)
            started = time.perf_counter()
            status = await target.watch(ctx, await target.start(ctx))
            times.append(time.perf_counter() - started)
            assert status.outputs is not None, status.error
    finally:
        await target.aclose()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--versions", type=int, default=8,
                        help="new code versions for the fresh-worker figure")
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
    folder = Path(tempfile.mkdtemp(prefix="wingspan-bench-code-"))
    sys.path.insert(0, str(folder))
    forked = asyncio.run(fresh_worker_seconds(folder, args.versions, fork=True))
    spawned = asyncio.run(fresh_worker_seconds(folder, args.versions, fork=False))
    print(f"fresh worker (a new code version's first attempt), median of {args.versions}:")
    for label, times in (("forked by the zygote:  ", forked), ("spawned (interpreter): ", spawned)):
        print(f"  {label} {statistics.median(times) * 1e3:8.0f} ms (max {max(times) * 1e3:.0f})")
    print(f"  ratio: {statistics.median(spawned) / statistics.median(forked):.1f}x")


if __name__ == "__main__":
    main()
