"""Prefect's server with a process work pool, on the workload of bench/server_bench.py and
bench/server_map_bench.py (run with Prefect's venv: bench/server_peers.py does).

`prefect server start` (SQLite in a temporary PREFECT_HOME) and one `prefect worker start` on a
process work pool (each flow run in a process of its own, as that pool runs them); the flows
are deployed from a local folder. The client creates flow runs through the API and reads the
task runs the server recorded:

- latency: from just before creating a one-task flow run to the start time the server recorded
  for its task run (one run at a time, after a warm-up run);
- throughput: N runs of a 10-task chain created at once, task runs per minute of wall time until
  the last run is final;
- map: one flow run mapping a task over 10,000 items (``inc.map(items)``, Prefect's default task
  runner), wall time create -> final, or the time-out;
- server CPU: the server's processes (not the worker, nor the flow runs' processes).

Prints one JSON line last (bench/peers/server_report.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent))

import server_common as common

FLOWS = '''
from prefect import flow, task


@task
def inc(x: int) -> int:
    return x + 1


@flow
def one(x: int = 0) -> int:
    return inc(x)


@flow
def ten(x: int = 0) -> int:
    for _ in range(10):
        x = inc(x)
    return x


@flow
def wide(items: list[int]) -> list[int]:
    return inc.map(items).result()
'''


async def final_runs(client: Any, ids: list[UUID]) -> list[Any]:
    """The flow runs once all are final (the caller bounds the wait)."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    while True:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=len(ids))
        if len(runs) == len(ids) and all(run.state is not None and run.state.is_final() for run in runs):
            return list(runs)
        await asyncio.sleep(0.25)  # Prefect's client offers no push of flow run states


async def first_task_start(client: Any, run: UUID) -> float:
    """The start time the server recorded for the run's first task run (the caller bounds the wait)."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    while True:
        tasks = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run])))
        starts = [t.start_time.timestamp() for t in tasks if t.start_time is not None]
        if starts:
            return float(min(starts))
        await asyncio.sleep(0.05)


def deploy(folder: Path) -> dict[str, UUID]:
    """The three flows as deployments on the process pool, run from the local folder."""
    from prefect import flow

    deployments = {}
    for name in ("one", "ten", "wide"):
        deployable = flow.from_source(source=str(folder), entrypoint=f"benchflows.py:{name}")
        deployments[name] = deployable.deploy(name=name, work_pool_name="bench", print_next_steps=False)
    return deployments


async def measure(args: argparse.Namespace, deployments: dict[str, UUID], server_pids: list[int]
                  ) -> dict[str, object]:
    from prefect.client.orchestration import get_client

    figures: dict[str, object] = {"map_items": args.items, "executions": args.executions}
    async with get_client() as client:
        async def create(name: str, parameters: dict[str, object]) -> UUID:
            run = await client.create_flow_run_from_deployment(deployments[name], parameters=parameters)
            return run.id

        async with asyncio.timeout(300):
            await final_runs(client, [await create("one", {"x": 1})])
        samples = []
        for index in range(args.samples):
            async with asyncio.timeout(300):
                started = time.time()  # the server records task starts in wall-clock time
                run = await create("one", {"x": index})
                samples.append(await first_task_start(client, run) - started)
                await final_runs(client, [run])
        figures.update(common.latency_figures(samples))

        before = common.cpu_by_pid(server_pids)
        started = time.monotonic()
        ids = await asyncio.gather(*(create("ten", {"x": i}) for i in range(args.executions)))
        async with asyncio.timeout(1800):
            runs = await final_runs(client, list(ids))
        wall = time.monotonic() - started
        cpu = common.cpu_used(before, common.cpu_by_pid(server_pids))
        failed = [run.state.name for run in runs if not run.state.is_completed()]
        if failed:
            raise RuntimeError(f"chain runs did not complete: {failed}")
        tasks = args.executions * 10
        figures.update(tasks_per_minute=tasks / wall * 60, chain_cpu_ms_per_task=cpu / tasks * 1000,
                       chain_load=common.load())

        before = common.cpu_by_pid(server_pids)
        started = time.monotonic()
        run = await create("wide", {"items": list(range(args.items))})
        try:
            async with asyncio.timeout(args.timeout):
                (done,) = await final_runs(client, [run])
            if not done.state.is_completed():
                raise RuntimeError(f"the map's flow run ended {done.state.name}")
            figures["map_timed_out"] = False
        except TimeoutError:
            figures["map_timed_out"] = True
        figures["map_seconds"] = time.monotonic() - started
        cpu = common.cpu_used(before, common.cpu_by_pid(server_pids))
        figures["map_cpu_ms_per_item"] = None if figures["map_timed_out"] else cpu / args.items * 1000
        figures["map_load"] = common.load()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--executions", type=int, default=40)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds the map may take")
    parser.add_argument("--limit", type=int, default=10, help="flow runs the worker runs at once")
    parser.add_argument("--query-seconds", type=float, default=1.0,
                        help="how often the worker asks for scheduled runs (Prefect's default: 10)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="prefect-server-bench-", ignore_cleanup_errors=True) as temporary:
        root = Path(temporary)
        (root / "code").mkdir()
        (root / "code" / "benchflows.py").write_text(FLOWS)
        port = common.free_port()
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("PREFECT_", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE"))}
        env.update(PREFECT_HOME=str(root / "home"), PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
                   PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_UI_ENABLED="false",
                   PREFECT_WORKER_QUERY_SECONDS=str(args.query_seconds),
                   # 40 runs created at once on SQLite: the server answers 503 while its database is
                   # busy, past the client's default 5 retries on a loaded machine
                   PREFECT_CLIENT_MAX_RETRIES="20",
                   PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
        os.environ.update(env)
        prefect = str(Path(sys.executable).parent / "prefect")
        processes = []
        try:
            server = common.start([prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                  env, root / "server.log")
            processes.append(server)
            health = f"http://127.0.0.1:{port}/api/health"
            common.wait_for("prefect server", lambda: common.http_ok(health), 180)
            subprocess.run([prefect, "work-pool", "create", "bench", "--type", "process"], env=env,
                           check=True, stdout=subprocess.DEVNULL)
            processes.append(common.start([prefect, "worker", "start", "--pool", "bench", "--limit",
                                           str(args.limit)], env, root / "worker.log"))
            figures = asyncio.run(measure(args, deploy(root / "code"), [server.pid]))
        except BaseException:
            for log in ("server.log", "worker.log"):
                if (root / log).exists():
                    print(f"--- {log}\n{(root / log).read_text()[-3000:]}", file=sys.stderr)
            raise
        finally:
            common.stop(processes)
    common.report({"system": "prefect", "version": __import__("prefect").__version__, **figures})


if __name__ == "__main__":
    main()
