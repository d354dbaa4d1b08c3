"""The API's own CPU per call (issue #24 item 2): how much of ``wingspan serve``'s API event loop
(its main thread; the engine runs on a thread of its own) each admin RPC costs, through gRPC.

    python bench/api_bench.py                  # 400 calls of each RPC, 8 at once
    python bench/api_bench.py --calls 1000 --concurrency 16

One ``wingspan serve`` on SQLite (see ``server_bench.py``); a 10-task chain is registered and run
once, so every read has real rows to read. Then, per RPC, ``--calls`` calls with
``--concurrency`` in flight: the server main thread's CPU per call (from /proc) and the client's
wall time per call. CreateExecution's executions run on the engine thread meanwhile: only the
API's part is counted. WatchExecution reads the whole stream of the ended execution. The load
average is printed beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from server_bench import FLOW, main_thread_cpu_seconds, start_server  # noqa: E402

from wingspan._remote.client import AsyncRemote  # noqa: E402
from wingspan.core.model import codec  # noqa: E402
from wingspan.protos import v1  # noqa: E402


async def measure(process: asyncio.subprocess.Process, name: str, call: Callable[[], Awaitable[Any]],
                  calls: int, concurrency: int, spy_file: str = "") -> None:
    left = calls
    await call()  # warm: caches and the first connection of each pool

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await call()

    spy = await asyncio.create_subprocess_exec(
        "py-spy", "record", "--pid", str(process.pid), "--rate", "500", "--format", "raw", "--gil",
        "--threads", "--output", f"{spy_file}.{name}", stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL) if spy_file else None
    cpu = main_thread_cpu_seconds(process)
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    cpu = main_thread_cpu_seconds(process) - cpu
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        await spy.wait()
    load = ", ".join(f"{figure:.2f}" for figure in os.getloadavg())
    print(f"{name:22s} {cpu / calls * 1000:6.2f} ms API CPU per call, {wall / calls * 1000:6.2f} ms wall "
          f"per call ({concurrency} at once); load average {load}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--only", default="", help="comma-separated RPC names to measure (default: all)")
    parser.add_argument("--py-spy", metavar="FILE", default="", help="sample the server with py-spy while "
                        "each RPC is measured, folded stacks into FILE.<RPC> (pip install py-spy)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wingspan-api-bench-") as folder:
        root = Path(folder)
        (root / "code").mkdir()
        (root / "code" / "benchflow.py").write_text(FLOW)
        db_url = f"sqlite+aiosqlite:///{root / 'home' / 'db' / 'wingspan.sqlite'}"
        storage = (root / "home" / "blobs").as_uri()
        process, endpoint = await start_server(root / "home", db_url, "--storage", storage)
        try:
            remote = AsyncRemote(endpoint)
            await remote.register(root / "code")
            execution = await remote.execute("benchflow.ten", {"x": 1})
            await execution.wait(timeout=120)
            call = remote.transport.call
            execution_id = codec.to_proto(execution.id)
            nodes = await call("list_node_executions",
                               v1.ListNodeExecutionsRequest(execution_id=execution_id), "list nodes")
            node = nodes.node_executions[0].id
            attempts = await call("list_task_executions",
                                  v1.ListTaskExecutionsRequest(node_execution_id=node), "list attempts")
            found = await call("get_execution", v1.GetExecutionRequest(id=execution_id), "get")
            data = await call("get_execution_data", v1.GetExecutionRequest(id=execution_id), "data")
            spec = v1.ExecutionSpec(entity_id=found.spec.entity_id, inputs=data.inputs)

            async def watch() -> None:
                async for _ in remote.watch(execution.id):
                    pass

            rpcs: dict[str, Callable[[], Awaitable[Any]]] = {
                "GetExecution": lambda: call("get_execution", v1.GetExecutionRequest(id=execution_id), "get"),
                "ListNodeExecutions": lambda: call("list_node_executions", v1.ListNodeExecutionsRequest(
                    execution_id=execution_id), "list nodes"),
                "GetNodeExecution": lambda: call("get_node_execution", v1.GetNodeExecutionRequest(id=node),
                                                 "get node"),
                "ListTaskExecutions": lambda: call("list_task_executions", v1.ListTaskExecutionsRequest(
                    node_execution_id=node), "list attempts"),
                "GetTaskExecution": lambda: call("get_task_execution", v1.GetTaskExecutionRequest(
                    id=attempts.task_executions[0].id), "get attempt"),
                "ListLaunchPlans": lambda: call("list_launch_plans", v1.ListRequest(
                    project="default", domain="development", name="benchflow.ten", limit=1), "find"),
                "WatchExecution": watch,
                "CreateExecution": lambda: call("create_execution", v1.CreateExecutionRequest(
                    project="default", domain="development", spec=spec), "create"),
            }
            only = {name for name in args.only.split(",") if name}
            for name, rpc in rpcs.items():
                if not only or name in only:
                    await measure(process, name, rpc, args.calls, args.concurrency, args.py_spy)
            await remote.aclose()
        finally:
            process.terminate()
            await process.wait()


if __name__ == "__main__":
    asyncio.run(main())
