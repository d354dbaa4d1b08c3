"""What the peers' server harnesses share (standard library only: each runs in its peer's venv).

Processes are started in a session of their own so that the harness can end each whole group
it started (the peers' servers start children of their own) and nothing else.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(command: Sequence[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``command`` in a session of its own, its output into ``log``."""
    with log.open("ab") as sink:
        return subprocess.Popen(list(command), env=env, stdin=subprocess.DEVNULL, stdout=sink,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop(processes: Sequence[subprocess.Popen[bytes]], grace: float = 30) -> None:
    """End each started process's group (its children too), politely first."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
        # the group's other members (a Dagster run the code server spawned) may outlive its leader
        # and still write into the temporary home that is removed next
        deadline = time.monotonic() + grace
        try:
            while True:
                os.killpg(process.pid, signal.SIGKILL if time.monotonic() > deadline else 0)
                time.sleep(0.1)
        except ProcessLookupError:
            pass  # the group is empty


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, every: float = 0.2) -> T:
    """Poll ``probe`` until it returns something other than None (the peers offer no push here)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = probe()
        except OSError:
            found = None
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


def http_ok(url: str) -> bool | None:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return True if answer.status == 200 else None


def descendants(root: int) -> list[int]:
    """``root`` and every process below it, as /proc shows them now."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(children.get(pid, []))
    return found


def cpu_by_pid(roots: Sequence[int], exclude: Callable[[str], bool] = lambda _: False) -> dict[int, float]:
    """User and system CPU seconds of each live process under ``roots`` (their own, not their
    ended children's), leaving out those whose command line ``exclude`` picks (run workers)."""
    figures = {}
    for root in roots:
        for pid in descendants(root):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if not exclude(command):
                figures[pid] = (int(fields[11]) + int(fields[12])) / TICK
    return figures


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two ``cpu_by_pid`` looks (a process born between counts whole)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def latency_figures(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"latency_median_ms": statistics.median(ordered) * 1000,
            "latency_p90_ms": ordered[max(int(len(ordered) * 0.9) - 1, 0)] * 1000}


def load() -> str:
    """The 1-minute load average, as bench/server_peers.py prints it for every system."""
    return f"{os.getloadavg()[0]:.2f}"


def report(figures: dict[str, object]) -> None:
    """The harness's result: one JSON line, last (bench/peers/server_report.py reads it)."""
    print(json.dumps(figures), flush=True)
