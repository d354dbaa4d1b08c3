"""1,000 web-API connector jobs in flight in one `wingspan serve` process (issue #21): one
execution of a workflow that calls a BigQuery task N times, against the loopback BigQuery of the
tests (tests/unit/webapi/providers.py), which keeps every job running until all N are submitted.

Prints the server's resident memory before the execution and with all N jobs in flight (per job:
the difference over N), its CPU time to submit them (per job), its CPU time per job per look
while they run (the polling cost), and the time and CPU from the jobs' end to the execution's.

    python bench/webapi_bench.py                 # N = 1000, a look every 5 s
    python bench/webapi_bench.py --jobs 200 --poll 2
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.unit.webapi.providers import TOKEN, BigQuery  # noqa: E402
from wingspan._remote.sync import Remote  # noqa: E402

READY = re.compile(r"wingspan serve: HTTP (https?://\S+)\s+gRPC (\S+):(\d+)")
FLOWS = """
from wingspan import kwtypes, workflow
from wingspan_webapi import BigQueryTask

total = BigQueryTask("total", "SELECT sum(n) AS n FROM t WHERE k = {{{{ .inputs.k }}}}",
                     inputs=kwtypes(k=str), outputs=kwtypes(n=int))


@workflow
def fan(k: str) -> None:
    for _ in range({jobs}):
        total(k=k)
"""
TICK = os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--poll", type=float, default=5.0, help="seconds between two looks at a job")
    parser.add_argument(
        "--hold", type=float, default=30.0, help="seconds the jobs stay running once all are in"
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the submissions")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {args.jobs} jobs, a look every {args.poll} s")
    with BigQuery() as bigquery, tempfile.TemporaryDirectory() as folder:
        bigquery.instant = False
        bigquery.answer("SELECT sum(n) AS n FROM t WHERE k = <STRING:x>", [("n", "INTEGER")], [["42"]])
        flows = Path(folder) / "fanflows.py"
        flows.write_text(FLOWS.format(jobs=args.jobs))
        env = {
            **os.environ,
            "WINGSPAN_HOME": f"{folder}/home",
            "WINGSPAN_PLUGINS__WEBAPI__BIGQUERY_URL": bigquery.url,
            "WINGSPAN_PLUGINS__WEBAPI__BIGQUERY_PROJECT": "proj",
            "WINGSPAN_PLUGINS__WEBAPI__BIGQUERY_TOKEN": TOKEN,
            "WINGSPAN_PLUGINS__WEBAPI__POLL_INTERVAL": str(args.poll),
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "wingspan.cli", "serve", "--http-port", "0", "--grpc-port", "0"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        endpoint, ready = [""], threading.Event()

        def read() -> None:
            assert server.stderr is not None
            for line in server.stderr:
                if found := READY.search(line):
                    endpoint[0] = f"{found.group(2)}:{found.group(3)}"
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        try:
            if not ready.wait(60):
                raise SystemExit("wingspan serve did not start")
            with Remote(endpoint[0]) as client:
                client.register(flows)
                time.sleep(2)
                idle_cpu = cpu_seconds(server.pid)  # the server's own loops, with nothing to run
                time.sleep(args.hold)
                idle_rss, cpu0 = rss_kib(server.pid), cpu_seconds(server.pid)
                baseline = cpu0 - idle_cpu
                started = time.monotonic()
                run = client.execute("fanflows.fan", {"k": "x"})
                while len(bigquery.jobs) < args.jobs:  # progress, for a run that is slow to submit
                    if server.poll() is not None or time.monotonic() - started > args.timeout:
                        raise SystemExit(
                            f"{len(bigquery.jobs)} of {args.jobs} jobs submitted in "
                            f"{time.monotonic() - started:.0f} s"
                        )
                    time.sleep(1)
                submitted = time.monotonic() - started
                cpu1 = cpu_seconds(server.pid)
                looks0 = bigquery.count("GET", "/projects/proj/jobs/.*")
                time.sleep(args.hold)
                cpu2, looks = (
                    cpu_seconds(server.pid),
                    bigquery.count("GET", "/projects/proj/jobs/.*") - looks0,
                )
                busy_rss = rss_kib(server.pid)
                for job_id in list(bigquery.jobs):
                    bigquery.finish(job_id)
                ended = time.monotonic()
                done = run.wait(timeout=900)
                drained, cpu3 = time.monotonic() - ended, cpu_seconds(server.pid)
                assert done.phase.name == "SUCCEEDED", done.error
                assert bigquery.count("POST", "/projects/proj/jobs") == args.jobs
        finally:
            server.terminate()
            server.wait(60)
    n = args.jobs
    print(
        f"server RSS: {idle_rss / 1024:.1f} MiB idle, {busy_rss / 1024:.1f} MiB with {n} jobs in flight: "
        f"{(busy_rss - idle_rss) / n:.1f} KiB per job"
    )
    print(
        f"submitting: {submitted:.1f} s wall, {cpu1 - cpu0:.2f} s server CPU: "
        f"{(cpu1 - cpu0) / n * 1000:.2f} ms per job"
    )
    print(
        f"following: {looks} looks in {args.hold:.0f} s, {cpu2 - cpu1:.2f} s server CPU, "
        f"{baseline:.2f} s of it its own loops' (as idle): "
        f"{(cpu2 - cpu1 - baseline) / max(looks, 1) * 1000:.2f} ms per look"
    )
    print(
        f"ending: {drained:.1f} s from the jobs' end to the execution's, {cpu3 - cpu2:.2f} s server CPU: "
        f"{(cpu3 - cpu2) / n * 1000:.2f} ms per job"
    )
    print(f"load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
