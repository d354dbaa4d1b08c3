"""``wingspan run --remote``: register the code, start the run on the server, follow it.

The file's folder goes to the server as a code bundle (what ``wingspan register`` does),
the entity is started at the version just registered, its progress is followed live
through the server's event stream (the same view as a local run), and its outputs are
printed as a local run prints them; a failed run exits 1 with its error.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click

from wingspan.cli.progress import ProgressView, node_names, print_outputs
from wingspan.cli.remote import fail, remote_client
from wingspan.core.errors import WingspanError

__all__ = ["RemoteRun", "engine_event"]


class RemoteRun:
    def __init__(self, ctx: click.Context, endpoint: str | None, project: str, domain: str,
                 output_format: str) -> None:
        self.ctx = ctx
        self.endpoint, self.project, self.domain = endpoint, project, domain
        self.output_format = output_format

    def run(self, source: str, found: Any, values: dict[str, Any], *, version: str | None,
            presets: dict[str, Any], no_wait: bool, max_parallelism: int, target: str,
            build_images: bool = False) -> None:
        try:
            with remote_client(self.endpoint, self.project, self.domain) as remote:
                registered = remote.register(source, version=version, build_images=build_images)
                new = sum(registered.values())
                click.echo(f"registered {len(registered)} entities at version {registered.version} "
                           f"({new} new) in {self.project}/{self.domain}", err=True)
                execution = remote.execute(found, values, version=registered.version,
                                           max_parallelism=max_parallelism, target=target)
                for name, value in presets.items():
                    remote.set_signal(execution, name, value)
                if no_wait:
                    click.echo(execution.name)
                    return
                click.echo(f"execution {execution.name} started on {remote.aio.endpoint}", err=True)
                self._follow(remote, execution, found)
                if execution.phase.name != "SUCCEEDED":
                    click.secho(f"execution {execution.name} {execution.phase.name}: "
                                f"{execution.error or 'no error recorded'}", fg="red", err=True)
                    self.ctx.exit(1)
                outputs = execution.outputs
        except WingspanError as exc:
            fail(exc)
        print_outputs(outputs, self.output_format)

    def _follow(self, remote: Any, execution: Any, found: Any) -> None:
        hinted: set[str] = set()
        try:
            with ProgressView(node_names(found)) as view:
                for message in remote.watch(execution):
                    event = engine_event(message)
                    if event is None:
                        continue
                    view(event)
                    if event.kind == "node" and event.phase.name == "WAITING":
                        self._hint(remote, execution, event.node_id, hinted)
            execution.wait(timeout=30)  # the stream ended with the execution: read its end
        except KeyboardInterrupt:
            click.echo(f"\nexecution {execution.name} goes on on the server; stop it with "
                       f"`wingspan execution terminate {execution.name}`", err=True)
            sys.exit(130)


    @staticmethod
    def _hint(remote: Any, execution: Any, node_id: str, hinted: set[str]) -> None:
        """Says how to give a value the run waits for (once per signal)."""
        for found in remote.signals(execution):
            if found["node"] == node_id and not found["set"] and found["name"] not in hinted:
                hinted.add(found["name"])
                click.echo(f"waiting for signal {found['name']!r} ({found['type']}): give it with "
                           f"`wingspan signal set {execution.name} {found['name']} VALUE`", err=True)


def engine_event(message: Any) -> Any:
    """An IDL event from the server as the engine's own Event (what the progress view reads)."""
    import betterproto2

    from wingspan.core.engine import Event
    from wingspan.core.model.execution import NodePhase, TaskPhase, WorkflowPhase

    kind, body = betterproto2.which_one_of(message, "event")
    if body is None:
        return None
    if kind == "workflow":
        event = Event("workflow", "", WorkflowPhase(int(body.phase)))
    elif kind == "node":
        event = Event("node", body.id.node_id, NodePhase(int(body.phase)), parent=body.parent_node_id)
    else:
        event = Event("task", body.id.node_execution_id.node_id, TaskPhase(int(body.phase)),
                      int(body.id.attempt))
    at: datetime | None = body.occurred_at
    if at is not None:
        event.at = at.timestamp()
    return event
