"""``wingspan logs EXEC [NODE]``: what an execution's task attempts wrote."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from wingspan.cli.remote import domain_option, endpoint_option, fail, project_option, remote_client
from wingspan.core.errors import NotFoundError, WingspanError

__all__ = ["logs"]


@click.command()
@click.argument("execution_name")
@click.argument("node", required=False, default=None)
@click.option("--attempt", type=int, default=None, help="This attempt (default: the latest).")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new output until the attempt "
              "(without NODE: the execution) ends.")
@click.option("--report", is_flag=True, help="Save the reports (HTML pages of the decks tasks made) "
              "instead, one file per node, and print their paths.")
@click.option("--to", "folder", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="With --report: the folder to save them in.")
@project_option
@domain_option
@endpoint_option
def logs(execution_name: str, node: str | None, attempt: int | None, follow: bool, report: bool,
         folder: Path, project: str, domain: str, endpoint: str | None) -> None:
    """Prints the logs of NODE of EXECUTION_NAME (its latest attempt, then its retries when
    following), or of every task node in turn, each under a line naming node and attempt.
    With --report, saves the reports of NODE (or of every task node that made one)."""
    if report:
        if follow:
            raise click.UsageError("--report saves the reports made so far: leave out --follow")
        _save_reports(execution_name, node, attempt, folder, project, domain, endpoint)
        return
    out = sys.stdout.buffer
    shown: tuple[str, int] | None = None
    try:
        with remote_client(endpoint, project, domain) as remote:
            for chunk in remote.logs(execution_name, node, attempt, follow):
                # a header for each node, or for a node's retry when following it
                if (chunk.node_id, chunk.attempt) != shown and (node is None or shown is not None):
                    header = f"=== {chunk.node_id} (attempt {chunk.attempt}) ===\n"
                    out.write(header.encode())
                shown = (chunk.node_id, chunk.attempt)
                out.write(chunk.data)
                out.flush()
    except WingspanError as exc:
        fail(exc)


def _save_reports(execution_name: str, node: str | None, attempt: int | None, folder: Path, project: str,
                  domain: str, endpoint: str | None) -> None:
    try:
        with remote_client(endpoint, project, domain) as remote:
            reports = remote.reports(execution_name, node, attempt)
        if not reports:
            which = f"node {node!r} of execution {execution_name}" if node else f"execution {execution_name}"
            raise NotFoundError(f"{which} has no reports"
                                + (f" from attempt {attempt}" if attempt is not None else "")
                                + ": a task makes one with Deck(name, html) (from wingspan import Deck)")
        folder.mkdir(parents=True, exist_ok=True)
        for found in reports:
            path = folder / f"{execution_name}-{found['node'].replace('/', '-')}-{found['attempt']}.html"
            path.write_text(found["html"])
            click.echo(str(path))
    except WingspanError as exc:
        fail(exc)
