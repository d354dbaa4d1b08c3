"""Prefect side of bench/engine_bench.py (run with Prefect's own virtualenv).

Prefect runs flows against an ephemeral local API; its logging is quieted so the
figure measures orchestration, not terminal output.
"""

import json
import logging
import os
import resource
import sys
import time

os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# its ephemeral API server can take longer than the default 20 s to start on 2 busy cores
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
started = time.perf_counter()
from prefect import flow, task  # noqa: E402

logging.getLogger("prefect").setLevel(logging.ERROR)


@task
def noop(x: int) -> int:
    return x


before_mb = 0.0  # peak memory before the measured run (a map's own peak is the rest)


def scenario(name: str, size: int) -> float:
    if name == "cold":
        @flow
        def one(x: int) -> int:
            return noop(x)

        one(1)
        return time.perf_counter() - started
    if name == "chain":
        @flow
        def chain(x: int) -> int:
            for _ in range(size):
                x = noop(x)
            return x

        chain(0)
        t = time.perf_counter()
        chain(0)
        return time.perf_counter() - t

    @flow
    def fan(xs: list[int]) -> list[int]:
        return [f.result() for f in noop.map(xs)]

    fan([1])
    global before_mb
    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    assert len(fan(list(range(size)))) == size
    return time.perf_counter() - t


if __name__ == "__main__":
    seconds = scenario(sys.argv[1], int(sys.argv[2]))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "before_mb": before_mb}))
