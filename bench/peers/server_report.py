"""Figures of bench/server_peers.py: read each system's output, and print them side by side.

Wingspan's figures come from the lines bench/server_bench.py and bench/server_map_bench.py print
(parsed here, so those scripts stay as they are); a peer's harness prints one JSON object as its
last line, with the keys of FIGURES (a figure it could not measure is null, a map that ran out of
time has ``map_timed_out`` true). Standard library only: the peers' virtualenvs import it too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str
    higher_is_better: bool


FIGURES = (
    Figure("tasks_per_minute", "{executions} x 10-task chains: task executions per minute", "/min", True),
    Figure("latency_median_ms", "create -> first task running, median", "ms", False),
    Figure("latency_p90_ms", "create -> first task running, p90", "ms", False),
    Figure("chain_cpu_ms_per_task", "server CPU per chain task execution", "ms", False),
    Figure("map_seconds", "map of {items:,}: wall time create -> end", "s", False),
    Figure("map_cpu_ms_per_item", "server CPU per map item", "ms", False),
)

LATENCY = re.compile(r"create -> first task running: median (\d+) ms, p90 (\d+) ms")
CHAIN = re.compile(r"executions x 10 tasks in [\d.]+ s: ([\d,]+) task executions/min, .*?"
                   r"server CPU ([\d.]+) ms per task execution")
MAP_WALL = re.compile(r"^wall: ([\d.]+) s create to end", re.MULTILINE)
MAP_CPU = re.compile(r"^server CPU: [\d.]+ s \((\d+) µs per item\)", re.MULTILINE)


def parse_wingspan(server_output: str, map_output: str) -> dict[str, float | None]:
    """Wingspan's figures from the printed output of server_bench.py and server_map_bench.py."""
    figures: dict[str, float | None] = {figure.key: None for figure in FIGURES}
    if found := LATENCY.search(server_output):
        figures["latency_median_ms"], figures["latency_p90_ms"] = float(found[1]), float(found[2])
    if found := CHAIN.search(server_output):
        figures["tasks_per_minute"] = float(found[1].replace(",", ""))
        figures["chain_cpu_ms_per_task"] = float(found[2])
    if found := MAP_WALL.search(map_output):
        figures["map_seconds"] = float(found[1])
    if found := MAP_CPU.search(map_output):
        figures["map_cpu_ms_per_item"] = int(found[1]) / 1000
    missing = [key for key, value in figures.items() if value is None]
    if missing:
        raise ValueError(f"Wingspan's bench output lacks {', '.join(missing)}: did server_bench.py or "
                         "server_map_bench.py fail or change what it prints? Their output:\n"
                         f"{server_output[-1500:]}\n{map_output[-1500:]}")
    return figures


def parse_peer(name: str, output: str) -> dict[str, object]:
    """A peer harness's figures: the JSON object on its last non-empty line of output."""
    lines = [line for line in output.splitlines() if line.strip()]
    try:
        figures = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        raise ValueError(f"{name}'s harness printed no JSON line last; its output ends with:\n"
                         f"{output[-1500:]}") from None
    if not isinstance(figures, dict):
        raise ValueError(f"{name}'s harness printed {lines[-1]!r} last, not a JSON object")
    return figures


def ratio(ours: object, theirs: object) -> float | None:
    """Our figure divided by theirs, or None when either is missing (or theirs is zero)."""
    if not isinstance(ours, int | float) or not isinstance(theirs, int | float) or theirs == 0:
        return None
    return float(ours) / float(theirs)


def _cell(figures: Mapping[str, object], key: str) -> str:
    value = figures.get(key)
    if key == "map_seconds" and figures.get("map_timed_out"):
        return f">{value:,.0f} (timeout)" if isinstance(value, int | float) else "timeout"
    if not isinstance(value, int | float):
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _ratio_cell(ours: Mapping[str, object], theirs: Mapping[str, object], key: str) -> str:
    value = ratio(ours.get(key), theirs.get(key))
    if value is None:
        return "n/a"
    # a peer that ran out of time took longer than the figure: our ratio is at most this
    bound = "<=" if key == "map_seconds" and theirs.get("map_timed_out") else ""
    return f"{bound}{value:.3g}"


def table(results: Mapping[str, Mapping[str, object]], loads: Mapping[str, str], executions: int = 40,
          items: int = 10_000) -> str:
    """The figures of each system (Wingspan first) with Wingspan's as ratios to each peer's, and
    the load average during each system's run (the workload's sizes name the figures)."""
    peers = [name for name in results if name != "wingspan"]
    ours = results["wingspan"]
    header = ["figure", "unit", *results, *(f"wingspan/{peer}" for peer in peers)]
    rows = [header]
    for figure in FIGURES:
        label = figure.label.format(executions=executions, items=items)
        rows.append([label, figure.unit, *(_cell(results[name], figure.key) for name in results),
                     *(_ratio_cell(ours, results[peer], figure.key) for peer in peers)])
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[0]) if column == 0 else cell.rjust(widths[column])
                       for column, cell in enumerate(row)) for row in rows]
    lines.append("ratios: throughput above 1 means Wingspan completes more; every other figure "
                 "below 1 means Wingspan takes less")
    lines.extend(f"load average during {name}: {load}" for name, load in loads.items())
    return "\n".join(lines)
