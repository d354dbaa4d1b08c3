"""``wingspan logs EXEC [NODE]``: what an execution's task attempts wrote."""

from __future__ import annotations

import sys

import click

from wingspan.cli.remote import domain_option, endpoint_option, fail, project_option, remote_client
from wingspan.core.errors import WingspanError

__all__ = ["logs"]


@click.command()
@click.argument("execution_name")
@click.argument("node", required=False, default=None)
@click.option("--attempt", type=int, default=None, help="This attempt (default: the latest).")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new output until the attempt "
              "(without NODE: the execution) ends.")
@project_option
@domain_option
@endpoint_option
def logs(execution_name: str, node: str | None, attempt: int | None, follow: bool, project: str,
         domain: str, endpoint: str | None) -> None:
    """Prints the logs of NODE of EXECUTION_NAME (its latest attempt, then its retries when
    following), or of every task node in turn, each under a line naming node and attempt."""
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
