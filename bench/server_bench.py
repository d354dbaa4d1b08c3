"""The server's engine (issues 9 and 10): how long from ``create execution`` to the first
task running, how many task executions per minute and node transitions per second the
server completes, on SQLite or on PostgreSQL with several engine replicas.

    python bench/server_bench.py                    # 20 latency samples, 40 x 10-task executions
    python bench/server_bench.py --samples 50 --executions 100
    eval "$(python -m scripts.testenv env)"         # PostgreSQL of the test environment
    python bench/server_bench.py --postgres --replicas 2

``--poll-seconds S`` sets how often the engines poll (a slow poll shows the push alone: on
PostgreSQL an engine hears of a new execution through LISTEN/NOTIFY).

``--replicas N`` runs one ``wingspan serve --role api,scheduler`` process and N
``--role engine`` processes (0, the default: one process with every role). Node
transitions are the node events stored while the throughput executions ran.

``--timeline`` prints where the throughput run's wall time went, from the events stored
(``server_timeline.py``): creations, claims, and each chain step's parts.

``--count`` runs each server through ``bench/server_probe.py`` and prints, per task execution of
the throughput run, the SQL statements (by verb and table) and transactions the servers ran.
The servers' CPU time per task execution (user and system, from /proc, without their worker
processes), the part of it spent on the API process's main thread (the API's event loop; the
engine runs on a thread of its own) and the load average are printed always.

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
import contextlib
import json
import os
import re
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from wingspan._remote.client import AsyncRemote  # noqa: E402

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
#: issue #24: 10,000 task executions a minute on 2 cores leaves the server (its workers take the
#: rest) at most this much CPU per task execution
BUDGET_MS = 6.0


async def start_server(home: Path, db_url: str, *args: str, count: bool = False
                       ) -> tuple[asyncio.subprocess.Process, str]:
    """``wingspan serve ARGS`` on ``db_url`` (in the environment: it may hold a password); its gRPC
    endpoint once ready ("" for a process without the API). ``count``: through the probe."""
    env = {**os.environ, "WINGSPAN_HOME": str(home), "WINGSPAN_DB_URL": db_url,
           "WINGSPAN_BENCH_COUNTS": str(home.parent / f"{home.name}.counts.json")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    command = [str(HERE / "server_probe.py")] if count else ["-m", "wingspan.cli"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, *command, "serve", "--http-port", "0", "--grpc-port", "0", *args, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    assert process.stderr is not None
    while True:
        line = (await asyncio.wait_for(process.stderr.readline(), 60)).decode()
        if not line:
            raise RuntimeError("wingspan serve exited")
        if line.startswith("wingspan serve:"):
            found = READY.search(line)
            asyncio.get_running_loop().create_task(_drain(process))
            return process, f"{found.group(1)}:{found.group(2)}" if found else ""


@contextlib.asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A fresh database on the test PostgreSQL (``WINGSPAN_TEST_PG_URL``), dropped afterwards."""
    import asyncpg

    url, dsn = os.environ.get("WINGSPAN_TEST_PG_URL"), os.environ.get("WINGSPAN_TEST_PG_DSN")
    if not url or not dsn:
        raise SystemExit('--postgres: run eval "$(python -m scripts.testenv up postgres)" first')
    name = f"wingspan_bench_{uuid.uuid4().hex[:10]}"
    server = dsn.rsplit("/", 1)[0] + "/postgres"
    connection = await asyncpg.connect(server)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    try:
        yield url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        connection = await asyncpg.connect(server)
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


async def node_events(db_url: str, home: Path) -> int:
    """How many node events the database holds."""
    query = "SELECT count(*) FROM events WHERE kind = 'node'"
    if not db_url.startswith("postgresql"):
        with contextlib.closing(sqlite3.connect(home / "db" / "wingspan.sqlite")) as db:
            return int(db.execute(query).fetchone()[0])
    import asyncpg

    connection = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return int(await connection.fetchval(query))
    finally:
        await connection.close()


def cpu_seconds(processes: list[asyncio.subprocess.Process]) -> float:
    """User and system CPU the processes used so far (their own, not their children's)."""
    return sum(_cpu_ticks(f"/proc/{process.pid}/stat") for process in processes) / os.sysconf("SC_CLK_TCK")


def main_thread_cpu_seconds(process: asyncio.subprocess.Process) -> float:
    """User and system CPU of the process's main thread so far: in ``wingspan serve`` the API's
    event loop (the engine runs on a thread of its own)."""
    return _cpu_ticks(f"/proc/{process.pid}/task/{process.pid}/stat") / os.sysconf("SC_CLK_TCK")


def _cpu_ticks(stat_path: str) -> int:
    fields = Path(stat_path).read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


async def sql_counts(processes: list[asyncio.subprocess.Process], homes: list[Path]) -> dict[str, int]:
    """The probes' statement and transaction counts so far, summed over the processes."""
    paths = [home.parent / f"{home.name}.counts.json" for home in homes]
    for path in paths:
        path.unlink(missing_ok=True)
    for process in processes:
        process.send_signal(signal.SIGUSR1)
    total: dict[str, int] = {}
    for path in paths:
        async with asyncio.timeout(10):
            while not path.exists():  # noqa: ASYNC110 (written by the probe's signal handler)
                await asyncio.sleep(0.01)
        for name, value in json.loads(path.read_text()).items():
            total[name] = total.get(name, 0) + value
    return total


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


async def throughput(remote: AsyncRemote, executions: int) -> tuple[float, float, list[str], float]:
    """Wall time, task executions per minute, the executions' names, and when it began (epoch s)."""
    began, started = time.time(), time.perf_counter()
    created = await asyncio.gather(*(remote.execute("benchflow.ten", {"x": i}) for i in range(executions)))
    finished = await asyncio.gather(*(e.wait(timeout=600) for e in created))
    wall = time.perf_counter() - started
    assert all(int(f.phase) == 3 for f in finished), [f.phase for f in finished]
    return wall, executions * 10 / wall * 60, [e.id.name for e in created], began


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--executions", type=int, default=40)
    parser.add_argument("--postgres", action="store_true", help="a fresh database on the test PostgreSQL")
    parser.add_argument("--replicas", type=int, default=0, help="engine processes beside an API process")
    parser.add_argument("--poll-seconds", type=float, help="the engines' polling (wingspan serve "
                        "--poll-seconds): on PostgreSQL a push wakes them sooner")
    parser.add_argument("--count", action="store_true", help="count SQL statements and transactions")
    parser.add_argument("--timeline", action="store_true", help="where the throughput run's time went, "
                        "from the events stored")
    parser.add_argument("--py-spy", metavar="FILE", help="sample the server (with --replicas, the last "
                        "engine replica) with py-spy during the throughput run, folded stacks into FILE "
                        "(pip install py-spy)")
    args = parser.parse_args()
    async with contextlib.AsyncExitStack() as stack:
        db_url = await stack.enter_async_context(postgres_database()) if args.postgres else ""
        await run(args, db_url)


async def run(args: argparse.Namespace, db_url: str) -> None:
    with tempfile.TemporaryDirectory(prefix="wingspan-server-bench-") as folder:
        root = Path(folder)
        (root / "code").mkdir()
        (root / "code" / "benchflow.py").write_text(FLOW)
        # one database and blob folder for every process (SQLite: the API process's file)
        shared = ["--storage", (root / "home" / "blobs").as_uri()]
        if args.poll_seconds is not None:
            shared += ["--poll-seconds", str(args.poll_seconds)]
        db_url = db_url or f"sqlite+aiosqlite:///{root / 'home' / 'db' / 'wingspan.sqlite'}"
        processes = []
        homes = [root / "home"]
        if args.replicas:
            process, endpoint = await start_server(root / "home", db_url, "--role", "api,scheduler", *shared,
                                                   count=args.count)
            processes.append(process)
            for index in range(args.replicas):
                homes.append(root / f"engine{index}")
                engine, _ = await start_server(homes[-1], db_url, "--role", "engine",
                                               "--replica-id", f"engine-{index}", *shared, count=args.count)
                processes.append(engine)
        else:
            process, endpoint = await start_server(root / "home", db_url, *shared, count=args.count)
            processes.append(process)
        print(f"database {'PostgreSQL' if db_url.startswith('postgresql') else 'SQLite'}, "
              f"{args.replicas or 1} engine replica(s){' beside an API process' if args.replicas else ''}")
        try:
            remote = AsyncRemote(endpoint)
            await remote.register(root / "code")
            await first_task_latency(remote)  # warms the worker pool
            samples = [await first_task_latency(remote) for _ in range(args.samples)]
            p90 = sorted(samples)[int(len(samples) * 0.9) - 1]
            print(f"create -> first task running: median {statistics.median(samples) * 1000:.0f} ms, "
                  f"p90 {p90 * 1000:.0f} ms ({len(samples)} samples)")
            before = await node_events(db_url, root / "home")
            counted = await sql_counts(processes, homes) if args.count else {}
            cpu, api_cpu = cpu_seconds(processes), main_thread_cpu_seconds(processes[0])
            spy = await asyncio.create_subprocess_exec(
                "py-spy", "record", "--pid", str(processes[-1].pid), "--rate", "250", "--format", "raw",
                # only the thread holding the GIL (idle threads waiting in a queue look busy
                # otherwise), each stack under its thread (the API's loop or the engine's)
                "--gil", "--threads",
                "--output", args.py_spy, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            ) if args.py_spy else None
            wall, per_minute, names, began = await throughput(remote, args.executions)
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                await spy.wait()
            cpu = cpu_seconds(processes) - cpu
            api_cpu = main_thread_cpu_seconds(processes[0]) - api_cpu
            transitions = await node_events(db_url, root / "home") - before
            tasks = args.executions * 10
            load = ", ".join(f"{figure:.2f}" for figure in os.getloadavg())
            print(f"{args.executions} executions x 10 tasks in {wall:.1f} s: "
                  f"{per_minute:,.0f} task executions/min, {transitions / wall:,.0f} node transitions/s; "
                  f"server CPU {cpu / tasks * 1000:.1f} ms per task execution (budget {BUDGET_MS:g} ms), "
                  f"of which the API process's main thread {api_cpu / tasks * 1000:.1f} ms; "
                  f"load average {load}")
            if args.timeline:
                from server_timeline import timeline

                print(await timeline(db_url, root / "home", names, began))
            if args.count:
                after = await sql_counts(processes, homes)
                per_task = {name: (after.get(name, 0) - counted.get(name, 0)) / tasks for name in after}
                print(f"per task execution: {per_task.get('statements', 0):.1f} SQL statements, "
                      f"{per_task.get('commits', 0):.1f} commits, "
                      f"{per_task.get('rollbacks', 0):.1f} rollbacks")
                for name, value in sorted(per_task.items(), key=lambda item: -item[1]):
                    if name not in ("statements", "commits", "rollbacks") and value >= 0.01:
                        print(f"  {value:6.2f}  {name}")
            await remote.aclose()
        finally:
            for each in processes:
                each.terminate()
            for each in processes:
                await each.wait()


if __name__ == "__main__":
    asyncio.run(main())
