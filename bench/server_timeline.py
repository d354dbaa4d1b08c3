"""Where a throughput run's wall time went, from the events the server stored: for
``server_bench.py --timeline``.

Each stored event has the engine's time (``occurred_at``) and the database's time of its
commit (``recorded_at``), so a chain's step splits into:

- waiting for the commit: a task's RUNNING event from when the engine recorded it to its
  commit (the engine starts an attempt only once its start is stored);
- starting: from that commit to the attempt's handle (the second RUNNING event: a CPU slot of
  the local-process target free, a warm worker handed the request);
- the worker: from the handle to the attempt's end as the engine saw it;
- the node's end to its commit (it goes with the next node's start in one transaction).

Before the steps come the creations (the client's calls) and the claims (create -> the first
node running); after them, the executions' ends. Times are milliseconds, medians and p90s.
"""

from __future__ import annotations

import contextlib
import sqlite3
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["timeline"]

QUERY = """SELECT e.name, e.created_at, ev.kind, ev.node_id, ev.phase, ev.occurred_at, ev.recorded_at
FROM events ev JOIN executions e ON e.id = ev.execution_id
WHERE e.name = ANY($1) ORDER BY ev.execution_id, ev.sequence"""
RUNNING, SUCCEEDED = 2, 3
#: the histogram's bins, in seconds
BIN = 0.25


def _seconds(value: Any) -> float:
    if isinstance(value, str):  # SQLite keeps them as text, in UTC
        value = datetime.fromisoformat(value)
    return float((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())


async def _rows(db_url: str, home: Path, names: list[str]) -> list[tuple[Any, ...]]:
    if not db_url.startswith("postgresql"):
        query = QUERY.replace("= ANY($1)", f"IN ({','.join('?' * len(names))})")
        with contextlib.closing(sqlite3.connect(home / "db" / "wingspan.sqlite")) as db:
            return db.execute(query, names).fetchall()
    import asyncpg

    connection = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return [tuple(row) for row in await connection.fetch(QUERY, names)]
    finally:
        await connection.close()


def _figure(label: str, values: list[float]) -> str:
    if not values:
        return f"  {label}: none"
    ordered = sorted(values)
    p90 = ordered[max(0, int(len(ordered) * 0.9) - 1)]
    return f"  {label}: median {statistics.median(ordered) * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms"


async def timeline(db_url: str, home: Path, names: list[str], started: float) -> str:
    """The report for the executions ``names``, whose creation began at ``started`` (epoch s)."""
    by_execution: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in await _rows(db_url, home, names):
        by_execution[row[0]].append(row)
    spans: dict[str, list[float]] = defaultdict(list)
    ended: list[float] = []
    tasks_ended: list[float] = []
    for events in by_execution.values():
        created = _seconds(events[0][1])
        spans["created (after the first call)"].append(created - started)
        nodes: dict[str, dict[str, tuple[float, float]]] = defaultdict(dict)
        for _name, _created, kind, node, phase, occurred, recorded in events:
            times = (_seconds(occurred), _seconds(recorded))
            if kind == "workflow" and phase == SUCCEEDED:
                ended.append(times[0] - started)
            elif kind == "node":
                nodes[node].setdefault(f"node {phase}", times)
            elif kind == "task" and phase == RUNNING:
                nodes[node]["handle" if "start" in nodes[node] else "start"] = times
            elif kind == "task" and phase == SUCCEEDED:
                nodes[node]["end"] = times
                tasks_ended.append(times[0] - started)
        first = min((times[0] for node in nodes.values() for key, times in node.items()
                     if key == f"node {RUNNING}"), default=None)
        if first is not None:
            spans["create -> first node running"].append(first - created)
        for node in nodes.values():
            if {"start", "handle", "end"} <= node.keys():
                start, handle, end = node["start"], node["handle"], node["end"]
                spans["step: task start recorded -> committed"].append(start[1] - start[0])
                spans["step: committed -> attempt handed to a worker"].append(handle[0] - start[1])
                spans["step: handed -> attempt ended (engine's view)"].append(end[0] - handle[0])
            done = node.get(f"node {SUCCEEDED}")
            if done is not None:
                spans["step: node ended -> committed"].append(done[1] - done[0])
            if "start" in node and done is not None:
                spans["step, whole: task start recorded -> node ended"].append(done[0] - node["start"][0])
    lines = [f"timeline of {len(by_execution)} executions (from their stored events):"]
    lines += [_figure(label, values) for label, values in spans.items()]
    lines.append(_figure("ended (after the first call)", ended))
    bins = Counter(int(at / BIN) for at in tasks_ended)
    histogram = [bins.get(i, 0) for i in range(max(bins, default=0) + 1)]
    lines.append(f"  tasks ended per {BIN * 1000:.0f} ms: {histogram}")
    return "\n".join(lines)
