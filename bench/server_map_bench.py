"""A map of N items through `wingspan serve` in one execution (issue #24 item 5): the wall time
from create to end, the server's CPU (without its worker processes) and peak memory, and what
the execution left in the database: rows per table and the database's growth, per item.

    python bench/server_map_bench.py                  # N = 10,000
    python bench/server_map_bench.py --items 100000 --timeout 1800

The server runs as its own process (SQLite and a blob folder in a temporary home, Python tasks
in its local worker processes); the client waits through the gRPC API.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wingspan._remote.sync import Remote  # noqa: E402

READY = re.compile(r"wingspan serve: HTTP (https?://\S+)\s+gRPC (\S+):(\d+)")
FLOWS = """
from wingspan import map_task, task, workflow


@task
def step(x: int) -> int:
    return x + 1


@workflow
def wide(items: list[int]) -> list[int]:
    return map_task(step{concurrency})(x=items)
"""
TICK = os.sysconf("SC_CLK_TCK")
TABLES = ("events", "node_executions", "task_executions", "map_items", "map_item_chunks")


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def database_bytes(home: Path) -> int:
    return sum(f.stat().st_size for f in (home / "db").glob("wingspan.sqlite*"))


def wal_bytes(home: Path) -> int:
    wal = home / "db" / "wingspan.sqlite-wal"
    return wal.stat().st_size if wal.exists() else 0


def checkpointed_bytes(home: Path) -> int:
    """The database file's size once its write-ahead log is folded in and emptied: what is
    stored, apart from how large the log grew between two checkpoints."""
    with sqlite3.connect(home / "db" / "wingspan.sqlite") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return (home / "db" / "wingspan.sqlite").stat().st_size


def rows(home: Path) -> dict[str, int]:
    with sqlite3.connect(home / "db" / "wingspan.sqlite") as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES if t in names}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=0, help="the map's concurrency (0: none given)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for the execution")
    parser.add_argument("--py-spy", metavar="FILE", help="sample the server with py-spy while the map runs, "
                        "folded stacks into FILE (pip install py-spy)")
    args = parser.parse_args()
    n = args.items
    print(f"Python {sys.version.split()[0]}, a map of {n} items through wingspan serve (SQLite), "
          f"concurrency {args.concurrency or 'not given'}")
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        flows = Path(folder) / "mapflows.py"
        given = f", concurrency={args.concurrency}" if args.concurrency else ""
        flows.write_text(FLOWS.format(concurrency=given))
        server = subprocess.Popen(
            [sys.executable, "-m", "wingspan.cli", "serve", "--http-port", "0", "--grpc-port", "0"],
            env={**os.environ, "WINGSPAN_HOME": str(home)},
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
                client.execute("mapflows.wide", {"items": [1]}).wait(timeout=120)  # workers warm
                rss0, cpu0 = status_kib(server.pid, "VmRSS"), cpu_seconds(server.pid)
                bytes0, wal0, rows0 = database_bytes(home), wal_bytes(home), rows(home)
                stored0 = checkpointed_bytes(home)
                sampler = subprocess.Popen(
                    ["py-spy", "record", "--pid", str(server.pid), "--rate", "100", "--format", "raw",
                     "--output", args.py_spy], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                ) if args.py_spy else None
                started = time.monotonic()
                done = client.execute("mapflows.wide", {"items": list(range(n))}).wait(timeout=args.timeout)
                wall = time.monotonic() - started
                if sampler is not None:
                    sampler.send_signal(signal.SIGINT)  # py-spy writes what it sampled, then ends
                    sampler.wait(60)
                cpu = cpu_seconds(server.pid) - cpu0
                peak = status_kib(server.pid, "VmHWM")
                assert done.phase.name == "SUCCEEDED", done.error
            grown, wal_grown, rows1 = database_bytes(home) - bytes0, wal_bytes(home) - wal0, rows(home)
        finally:
            server.terminate()
            server.wait(60)
        stored = checkpointed_bytes(home) - stored0
    print(f"wall: {wall:.1f} s create to end ({wall / n * 1e6:.0f} µs per item)")
    print(f"server CPU: {cpu:.1f} s ({cpu / n * 1e6:.0f} µs per item)")
    print(f"server memory: {rss0 / 1024:.1f} MiB before, peak {peak / 1024:.1f} MiB "
          f"({(peak - rss0) / n:.2f} KiB per item above the start)")
    added = {t: rows1[t] - rows0.get(t, 0) for t in rows1}
    print("rows added: " + ", ".join(f"{t} {c} ({c / n:.2f} per item)" for t, c in added.items()))
    print(f"database growth: {grown / 1024 / 1024:.1f} MiB ({grown / n:.0f} bytes per item; "
          f"of it the write-ahead log {wal_grown / 1024 / 1024:.1f} MiB)")
    print(f"stored after a checkpoint: {stored / 1024 / 1024:.1f} MiB ({stored / n:.0f} bytes per item)")
    print(f"load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
