"""Wingspan side of bench/engine_bench.py: one scenario per process, JSON on stdout."""

import json
import resource
import sys
import time

started = time.perf_counter()
from wingspan import map_task, task, workflow  # noqa: E402


@task
def noop(x: int) -> int:
    return x


before_mb = 0.0  # peak memory before the measured run (a map's own peak is the rest)


def scenario(name: str, size: int) -> float:
    if name == "cold":
        @workflow
        def one(x: int) -> int:
            return noop(x=x)

        one(x=1)
        return time.perf_counter() - started
    if name == "chain":
        @workflow
        def chain(x: int) -> int:
            for _ in range(size):
                x = noop(x=x)
            return x

        chain(x=0)  # warm up: first run imports the engine
        t = time.perf_counter()
        assert chain(x=0) == 0
        return time.perf_counter() - t

    # "map" as users write it (no concurrency given), "map-tuned" with a concurrency
    concurrency = {"concurrency": 4} if name == "map-tuned" else {}

    @workflow
    def fan(xs: list[int]) -> list[int]:
        return map_task(noop, **concurrency)(x=xs)

    fan(xs=[1])
    global before_mb
    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    assert len(fan(xs=list(range(size)))) == size
    return time.perf_counter() - t


if __name__ == "__main__":
    seconds = scenario(sys.argv[1], int(sys.argv[2]))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "before_mb": before_mb}))
