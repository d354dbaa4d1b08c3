"""An execution's attempts over time, from its task events, for the console's timeline.

Each attempt of each node is one bar: from its first event to its last once it has ended
(to ``now`` while it runs), its phase the latest event's. A retried node shows one bar per
attempt, each failed one with its error. Bars are placed on a 0..``WIDTH`` scale spanning
the earliest start to the latest end, so the template draws them in SVG (the page's CSP
forbids inline styles).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["WIDTH", "Bar", "Timeline", "timeline"]

WIDTH = 1000
#: the narrowest bar drawn, so an instant attempt (a cache hit) is still visible
_MIN_WIDTH = 2
_ENDED = {"succeeded", "failed", "timed_out", "aborted", "retryable_failure"}


@dataclass(frozen=True, slots=True)
class Bar:
    node_id: str
    attempt: int
    phase: str
    started: dt.datetime
    seconds: float
    error: str
    x: int
    width: int


@dataclass(frozen=True, slots=True)
class Timeline:
    #: node id -> its attempts in order, the nodes in the order they first started
    rows: dict[str, list[Bar]]
    seconds: float


@dataclass(slots=True)
class _Attempt:
    first: dt.datetime
    last: dt.datetime
    phase: str
    error: str


def timeline(events: Iterable[Any], shown: Container[str], phase_of: Callable[[Any], str],
             now: dt.datetime) -> Timeline:
    """``events``: the execution's IDL events in order; ``shown``: the node ids to draw;
    ``phase_of``: a task phase -> its name."""
    attempts: dict[tuple[str, int], _Attempt] = {}
    for event in events:
        task = event.task
        if task is None or task.id is None or task.id.node_execution_id is None or task.occurred_at is None:
            continue
        node_id = task.id.node_execution_id.node_id
        if node_id not in shown:
            continue
        when = task.occurred_at
        error = task.error.message if task.error is not None else ""
        found = attempts.get((node_id, task.id.attempt))
        if found is None:
            attempts[(node_id, task.id.attempt)] = _Attempt(when, when, phase_of(task.phase), error)
        else:
            found.first, found.last = min(found.first, when), max(found.last, when)
            if when >= found.last:
                found.phase = phase_of(task.phase)
            found.error = error or found.error
    if not attempts:
        return Timeline({}, 0.0)
    ends = {k: (a.last if a.phase in _ENDED else max(now, a.last)) for k, a in attempts.items()}
    start = min(a.first for a in attempts.values())
    span = max((max(ends.values()) - start).total_seconds(), 1e-3)
    rows: dict[str, list[Bar]] = {}
    for (node_id, number), found in sorted(attempts.items(), key=lambda item: (item[1].first, item[0][1])):
        seconds = (ends[(node_id, number)] - found.first).total_seconds()
        x = round((found.first - start).total_seconds() / span * WIDTH)
        width = max(round(seconds / span * WIDTH), _MIN_WIDTH)
        rows.setdefault(node_id, []).append(
            Bar(node_id, number, found.phase, found.first, seconds, found.error, min(x, WIDTH - _MIN_WIDTH),
                min(width, WIDTH - min(x, WIDTH - _MIN_WIDTH))))
    return Timeline(rows, span)
