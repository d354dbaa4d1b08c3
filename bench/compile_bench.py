"""How long a 10,000-node workflow takes to define, compile and serialise.

The workflow is traced through the SDK (``@workflow`` calling tasks in a loop), so
the figures cover what a user pays when a module with a large workflow is imported
or registered: tracing the body, compiling the closure (checks, DAG, topological
order) and encoding it to IDL bytes. Run it directly::

    .venv/bin/python bench/compile_bench.py [--nodes 10000] [--repeat 3]

It prints the figures; it is not a timed test.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

from wingspan import task, workflow
from wingspan._authoring.workflow import Workflow
from wingspan.core.model import codec
from wingspan.core.model.workflows import CompiledWorkflowClosure


@task
def seed(x: int) -> int:
    return x


@task
def step(a: int, b: int) -> int:
    return a + b


@task
def join(values: list[int]) -> int:
    return sum(values)


def make_workflow(nodes: int, width: int) -> Callable[[], Workflow]:
    """A workflow of ``nodes`` task nodes: ``width`` parallel chains, each node reading
    the one before it in its chain and one from a neighbouring chain, joined at the end
    every ``width`` layers (so the graph is both wide and deep, with fan-in)."""

    def define() -> Workflow:
        def body(x: int) -> int:
            frontier: list[Any] = [seed(x=x) for _ in range(width)]
            made = width
            layer = 0
            while made < nodes - 1:
                layer += 1
                if layer % width == 0:
                    frontier[0] = join(values=list(frontier))
                    made += 1
                    continue
                count = min(width, nodes - 1 - made)
                frontier = [step(a=frontier[i], b=frontier[(i + 1) % width]) if i < count
                            else frontier[i] for i in range(width)]
                made += count
            result: int = join(values=list(frontier))  # a promise, typed as the value it stands for
            return result

        body.__qualname__ = body.__name__ = f"wide_and_deep_{nodes}"
        return workflow(body)

    return define


def measure(label: str, fn: Callable[[], Any], repeat: int) -> tuple[Any, float]:
    times = []
    result = None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    best, median = min(times), statistics.median(times)
    print(f"  {label:<34} best {best * 1000:8.1f} ms   median {median * 1000:8.1f} ms")
    return result, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    define = make_workflow(args.nodes, args.width)
    print(f"Python {platform.python_version()}; workflow of {args.nodes} task nodes, {args.width} wide "
          f"(best and median of {args.repeat})")
    wf, trace_and_compile = measure("trace + compile (@workflow)", define, args.repeat)
    assert isinstance(wf, Workflow)
    closure = wf.closure
    assert closure.primary is not None and closure.primary.template is not None
    node_count = len(closure.primary.template.nodes)
    _, compile_only = measure("compile only (compile_workflow)", wf.compile, args.repeat)
    message, _ = measure("  of which model -> IDL messages", lambda: codec.to_proto(closure), args.repeat)
    measure("  of which IDL messages -> bytes", lambda: bytes(message), args.repeat)
    data, encode_time = measure("encode closure to bytes", lambda: codec.encode(closure), args.repeat)
    _, decode_time = measure("decode bytes to closure",
                             lambda: codec.decode(CompiledWorkflowClosure, data), args.repeat)
    total = trace_and_compile + encode_time
    print(f"  nodes: {node_count}   closure: {len(data) / 1e6:.2f} MB   "
          f"sha256 {hashlib.sha256(data).hexdigest()[:16]}")
    print(f"  trace = {(trace_and_compile - compile_only) * 1000:.1f} ms, compile = "
          f"{compile_only * 1000:.1f} ms, encode = {encode_time * 1000:.1f} ms, "
          f"decode = {decode_time * 1000:.1f} ms")
    print(f"  trace + compile + encode: {total * 1000:.1f} ms "
          f"({total / node_count * 1e6:.1f} µs per node)")


if __name__ == "__main__":
    main()
