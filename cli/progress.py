"""What a run shows on the terminal: a live view of its nodes (named), and its outputs."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from wingspan._authoring.launch_plan import LaunchPlan
from wingspan._authoring.workflow import Workflow, single_node_workflow
from wingspan.core.engine import Event
from wingspan.core.types.text import display

__all__ = ["ProgressView", "node_names", "print_outputs"]

_STYLE = {"SUCCEEDED": "green", "FAILED": "red", "TIMED_OUT": "red", "ABORTED": "yellow",
          "RUNNING": "cyan", "WAITING": "magenta", "SKIPPED": "dim", "QUEUED": "dim"}


class ProgressView:
    """A rich table that follows node events on a terminal; plain lines elsewhere."""

    def __init__(self, names: dict[str, str], live: bool | None = None) -> None:
        self.names = names
        self.live = sys.stderr.isatty() if live is None else live
        self.rows: dict[str, dict[str, Any]] = {}
        self._display: Any = None
        self._last = 0.0

    def __enter__(self) -> ProgressView:
        if self.live:
            from rich.console import Console
            from rich.live import Live

            self._display = Live(self._table(), console=Console(stderr=True), refresh_per_second=8,
                                 transient=False)
            self._display.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._display is not None:
            self._display.update(self._table())
            self._display.__exit__(*exc)

    def __call__(self, event: Event) -> None:
        if event.kind != "node":
            if event.kind == "task" and event.node_id in self.rows:
                self.rows[event.node_id]["attempt"] = event.attempt
            return
        row = self.rows.setdefault(event.node_id, {"start": event.at, "attempt": 0})
        row["phase"] = event.phase.name
        row["end"] = event.at
        if self._display is not None:
            now = time.monotonic()
            if now - self._last > 0.1 or event.phase.name not in ("QUEUED", "RUNNING"):
                self._display.update(self._table())
                self._last = now
        elif event.phase.name in ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "WAITING") \
                and "/" not in event.node_id:
            name = self.names.get(event.node_id, "")
            print(f"  {event.node_id:<8} {name:<28} {event.phase.name}", file=sys.stderr)

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(box=None, header_style="bold")
        for column in ("node", "name", "phase", "attempt", "seconds"):
            table.add_column(column)
        shown = [(k, v) for k, v in self.rows.items() if k.count("/") == 0]
        children = len(self.rows) - len(shown)
        for node_id, row in shown:
            phase = row.get("phase", "")
            table.add_row(node_id, self.names.get(node_id, ""),
                          f"[{_STYLE.get(phase, '')}]{phase}[/]", str(row["attempt"]),
                          f"{row['end'] - row['start']:.2f}")
        if children:
            done = sum(1 for k, v in self.rows.items() if "/" in k and v.get("phase") == "SUCCEEDED")
            table.caption = f"{done}/{children} nested nodes succeeded"
        return table


def print_outputs(outputs: dict[str, Any], output_format: str) -> None:
    """Outputs as the local and the remote run print them: one bare value, else name: value."""
    shown = {name: display(value) for name, value in outputs.items()}
    if output_format == "json":
        click.echo(json.dumps(shown, indent=2, default=str))
    elif len(shown) == 1 and "o0" in shown:
        click.echo(shown["o0"] if isinstance(shown["o0"], str) else json.dumps(shown["o0"], default=str))
    else:
        for name, value in shown.items():
            click.echo(f"{name}: {value if isinstance(value, str) else json.dumps(value, default=str)}")


def node_names(found: Any) -> dict[str, str]:
    """Node id -> name of what ``found`` runs (a task runs as a one-node workflow)."""
    if isinstance(found, LaunchPlan):
        found = found.workflow
    workflow = found if isinstance(found, Workflow) else single_node_workflow(found)
    return {node.id: node.metadata.name for node in workflow.template.nodes if node.metadata}
