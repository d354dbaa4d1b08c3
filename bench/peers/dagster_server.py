"""Dagster's webserver and daemon, on the workload of bench/server_bench.py and
bench/server_map_bench.py (run with Dagster's venv: bench/server_peers.py does).

`dagster-webserver` and `dagster-daemon run` on one instance (SQLite storage in a temporary
DAGSTER_HOME, the queued run coordinator, the default run launcher: each run in a process of
its own) and one code location file. Jobs use the in-process executor (the default one starts
a process per op, which no 10,000-item map survives); outputs go through Dagster's default
filesystem IO manager. Runs are submitted through the webserver's GraphQL API; the harness reads
the instance's run statuses and event log:

- latency: from just before submitting a one-op job to the STEP_START event of its op (one run
  at a time, after a warm-up run);
- throughput: N runs of a 10-op chain submitted at once, ops per minute of wall time until the
  last run ends;
- map: one run whose op yields 10,000 dynamic outputs, each mapped through the same op and
  collected, wall time submit -> end, or the time-out;
- server CPU: the webserver's and daemon's processes and their code servers (not the runs').

Prints one JSON line last (bench/peers/server_report.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import server_common as common

JOBS = '''
from dagster import Definitions, DynamicOut, DynamicOutput, in_process_executor, job, op


@op
def inc(x: int) -> int:
    return x + 1


@op(config_schema={"n": int}, out=DynamicOut(int))
def fan(context):
    for i in range(context.op_config["n"]):
        yield DynamicOutput(i, mapping_key=str(i))


@op
def gather(xs: list[int]) -> list[int]:
    return xs


@job(executor_def=in_process_executor)
def one():
    inc()


@job(executor_def=in_process_executor)
def ten():
    x = inc()
    for _ in range(9):
        x = inc(x)


@job(executor_def=in_process_executor)
def wide():
    gather(fan().map(inc).collect())


defs = Definitions(jobs=[one, ten, wide])
'''
INSTANCE = """
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: {limit}
    dequeue_interval_seconds: {dequeue}
telemetry:
  enabled: false
"""


def is_run_process(command: str) -> bool:
    """A run's process: the default run launcher has the code server spawn it through
    multiprocessing (``spawn_main``); ``dagster api execute_run`` is the command-line form."""
    return any(mark in command for mark in ("spawn_main", "execute_run", "execute_step"))


def final_runs(instance: Any, ids: list[str], timeout: float) -> list[Any]:
    from dagster import DagsterRunStatus, RunsFilter

    ended = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}

    def all_ended() -> list[Any] | None:
        runs = instance.get_runs(filters=RunsFilter(run_ids=ids))
        return runs if len(runs) == len(ids) and all(run.status in ended for run in runs) else None

    return common.wait_for(f"{len(ids)} runs ending", all_ended, timeout, every=0.25)


def first_step_start(instance: Any, run_id: str) -> float:
    from dagster import DagsterEventType

    def start() -> float | None:
        records = instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)
        return min(record.timestamp for record in records) if records else None

    return common.wait_for(f"run {run_id}: a step starting", start, 300, every=0.05)


def measure(args: argparse.Namespace, port: int, server_pids: list[int]) -> dict[str, object]:
    from dagster import DagsterInstance, DagsterRunStatus
    from dagster_graphql import DagsterGraphQLClient

    instance = DagsterInstance.get()

    def submit(job: str, config: dict[str, Any]) -> str:
        # a client per call: its transport allows one query at a time, and runs are submitted at once
        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        return str(client.submit_job_execution(job, run_config=config))

    def inc_input(x: int) -> dict[str, Any]:
        return {"ops": {"inc": {"inputs": {"x": x}}}}

    figures: dict[str, object] = {"map_items": args.items, "executions": args.executions}
    final_runs(instance, [submit("one", inc_input(1))], 300)
    samples = []
    for index in range(args.samples):
        started = time.time()  # the event log records wall-clock timestamps
        run_id = submit("one", inc_input(index))
        samples.append(first_step_start(instance, run_id) - started)
        final_runs(instance, [run_id], 300)
    figures.update(common.latency_figures(samples))

    def server_cpu() -> dict[int, float]:
        return common.cpu_by_pid(server_pids, exclude=is_run_process)

    before = server_cpu()
    started = time.monotonic()
    with ThreadPoolExecutor(args.executions) as pool:
        ids = list(pool.map(lambda i: submit("ten", inc_input(i)), range(args.executions)))
    runs = final_runs(instance, ids, 1800)
    wall = time.monotonic() - started
    cpu = common.cpu_used(before, server_cpu())
    failed = [run.status.value for run in runs if run.status != DagsterRunStatus.SUCCESS]
    if failed:
        raise RuntimeError(f"chain runs did not succeed: {failed}")
    tasks = args.executions * 10
    figures.update(tasks_per_minute=tasks / wall * 60, chain_cpu_ms_per_task=cpu / tasks * 1000,
                   chain_load=common.load())

    before = server_cpu()
    started = time.monotonic()
    run_id = submit("wide", {"ops": {"fan": {"config": {"n": args.items}}}})
    try:
        (done,) = final_runs(instance, [run_id], args.timeout)
        if done.status != DagsterRunStatus.SUCCESS:
            raise RuntimeError(f"the map's run ended {done.status.value}")
        figures["map_timed_out"] = False
    except TimeoutError:
        figures["map_timed_out"] = True
        instance.report_run_canceled(instance.get_run_by_id(run_id))
    figures["map_seconds"] = time.monotonic() - started
    cpu = common.cpu_used(before, server_cpu())
    figures["map_cpu_ms_per_item"] = None if figures["map_timed_out"] else cpu / args.items * 1000
    figures["map_load"] = common.load()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--executions", type=int, default=40)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds the map may take")
    parser.add_argument("--limit", type=int, default=10, help="runs the daemon runs at once")
    parser.add_argument("--dequeue-seconds", type=int, default=1,
                        help="how often the daemon starts queued runs (Dagster's default: 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dagster-server-bench-", ignore_cleanup_errors=True) as temporary:
        root = Path(temporary)
        home = root / "home"
        home.mkdir()
        (home / "dagster.yaml").write_text(INSTANCE.format(limit=args.limit, dequeue=args.dequeue_seconds))
        (root / "benchjobs.py").write_text(JOBS)
        workspace = root / "workspace.yaml"
        workspace.write_text(f"load_from:\n  - python_file: {root / 'benchjobs.py'}\n")
        port = common.free_port()
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("DAGSTER_", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE"))}
        env.update(DAGSTER_HOME=str(home), PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
        os.environ.update(env)
        bin_folder = Path(sys.executable).parent
        processes = []
        # create the storage's tables here: webserver and daemon racing to do it break its migrations
        from dagster import DagsterInstance

        DagsterInstance.get().dispose()
        try:
            webserver = common.start([str(bin_folder / "dagster-webserver"), "-h", "127.0.0.1",
                                      "-p", str(port), "-w", str(workspace)], env, root / "webserver.log")
            processes.append(webserver)
            daemon = common.start([str(bin_folder / "dagster-daemon"), "run", "-w", str(workspace)], env,
                                  root / "daemon.log")
            processes.append(daemon)
            common.wait_for("dagster-webserver", lambda: common.http_ok(f"http://127.0.0.1:{port}/server_info"),
                            180)
            figures = measure(args, port, [webserver.pid, daemon.pid])
        except BaseException:
            for log in ("webserver.log", "daemon.log"):
                if (root / log).exists():
                    print(f"--- {log}\n{(root / log).read_text()[-3000:]}", file=sys.stderr)
            raise
        finally:
            common.stop(processes)
    common.report({"system": "dagster", "version": __import__("dagster").__version__, **figures})


if __name__ == "__main__":
    main()
