"""The server's engine on SQLite (issue 9): how long from ``create execution`` to the first
task running, and how many task executions per minute the server completes.

    python bench/server_bench.py                    # 20 latency samples, 40 x 10-task executions
    python bench/server_bench.py --samples 50 --executions 100

``wingspan serve`` runs as its own process (SQLite and a blob folder in a temporary home,
Python tasks in its local worker processes); the client measures through the gRPC API.
Latency: wall time from just before CreateExecution to the first task event RUNNING as the
client receives it from WatchExecution, one execution at a time (the engine idle and its
workers warm). Throughput: executions of a 10-task chain created at once; task executions
completed per minute of wall time until the last one ends.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from wingspan._remote import AsyncRemote  # noqa: E402

FLOW = '''
from wingspan import task, workflow


@task
def inc(x: int) -> int:
    return x + 1


@workflow
def one(x: int = 0) -> int:
    return inc(x=x)


@workflow
def ten(x: int = 0) -> int:
    for _ in range(10):
        x = inc(x=x)
    return x
'''
READY = re.compile(r"gRPC (\S+):(\d+)")


async def start_server(home: Path) -> tuple[asyncio.subprocess.Process, str]:
    env = {**os.environ, "WINGSPAN_HOME": str(home)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wingspan.cli", "serve", "--http-port", "0", "--grpc-port", "0", env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    assert process.stderr is not None
    while True:
        line = (await asyncio.wait_for(process.stderr.readline(), 60)).decode()
        if not line:
            raise RuntimeError("wingspan serve exited")
        found = READY.search(line)
        if found:
            asyncio.get_running_loop().create_task(_drain(process))
            return process, f"{found.group(1)}:{found.group(2)}"


async def _drain(process: asyncio.subprocess.Process) -> None:
    assert process.stderr is not None
    while await process.stderr.read(65536):
        pass


async def first_task_latency(remote: AsyncRemote) -> float:
    started = time.perf_counter()
    execution = await remote.execute("benchflow.one", {"x": 1})
    async for event in remote.watch(execution.id):
        if event.task is not None and int(event.task.phase) == 2:
            latency = time.perf_counter() - started
            await execution.wait(timeout=60)
            return latency
    raise RuntimeError("the execution ended without a running task")


async def throughput(remote: AsyncRemote, executions: int) -> tuple[float, float]:
    started = time.perf_counter()
    created = await asyncio.gather(*(remote.execute("benchflow.ten", {"x": i}) for i in range(executions)))
    finished = await asyncio.gather(*(e.wait(timeout=600) for e in created))
    wall = time.perf_counter() - started
    assert all(int(f.phase) == 3 for f in finished), [f.phase for f in finished]
    return wall, executions * 10 / wall * 60


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--executions", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wingspan-server-bench-") as folder:
        root = Path(folder)
        (root / "code").mkdir()
        (root / "code" / "benchflow.py").write_text(FLOW)
        process, endpoint = await start_server(root / "home")
        try:
            remote = AsyncRemote(endpoint)
            await remote.register(root / "code")
            await first_task_latency(remote)  # warms the worker pool
            samples = [await first_task_latency(remote) for _ in range(args.samples)]
            p90 = sorted(samples)[int(len(samples) * 0.9) - 1]
            print(f"create -> first task running: median {statistics.median(samples) * 1000:.0f} ms, "
                  f"p90 {p90 * 1000:.0f} ms ({len(samples)} samples)")
            wall, per_minute = await throughput(remote, args.executions)
            print(f"{args.executions} executions x 10 tasks in {wall:.1f} s: "
                  f"{per_minute:,.0f} task executions/min")
            await remote.aclose()
        finally:
            process.terminate()
            await process.wait()


if __name__ == "__main__":
    asyncio.run(main())
